@testable import AtomdAgent
import AtomdSpec
import HummingbirdCore

/// A control API request as the routes decode it: the input's first line is
/// the request target (`/runs?status=…&limit=…`, `/jobs?name=…`), the rest
/// a submitted job's body (or a rollback's). Each decodes or is refused with an error; a job
/// goes through the admission `POST /jobs` and the spool share, under an
/// `api.run_as` policy so that its checks run too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
    let uri = URI(String(decoding: bytes[..<newline], as: UTF8.self))
    let body = Array(bytes[min(newline + 1, bytes.endIndex)...])
    _ = try? ControlRoutes.runsQuery(in: uri)
    _ = try? RollbackAsk.decode(body)
    if let name = try? ControlRoutes.jobName(in: uri) {
        let vars = (try? ControlRoutes.submission(in: uri))?.vars ?? [:]
        _ = try? JobAdmission.admit(name: name, bytes: body, limits: RunAsPolicy(RunAsConfig(users: ["nobody"], secrets: ["/etc/atomd/secrets"])), vars: vars)
    }
    return 0
}
