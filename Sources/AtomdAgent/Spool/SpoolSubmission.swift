import AtomdSpec
import Foundation

/// What `atomd submit` gives with a job besides its text: `--var` values,
/// `--on-failure`, and a token to follow the run by (`--wait`). Kept beside
/// the job in the spool as `.NAME.submit.json` (a dotfile: the watcher does
/// not take it for a job), written before the job and moved before it at
/// each step, so a job never arrives without it.
public struct SpoolSubmission: Codable, Sendable, Hashable {
    public var vars: [String: JSONValue]
    public var onFailure: FailurePolicy?
    public var token: String

    enum CodingKeys: String, CodingKey {
        case vars, onFailure = "on_failure", token
    }

    public init(vars: [String: JSONValue] = [:], onFailure: FailurePolicy? = nil, token: String = UUID().uuidString.lowercased()) {
        self.vars = vars
        self.onFailure = onFailure
        self.token = token
    }

    /// Larger sidecars are refused.
    static let maxBytes = 64 * 1024

    /// The sidecar's name for job file `name`.
    static func sidecar(of name: String) -> String {
        "." + name + ".submit.json"
    }

    /// Reads the sidecar of `name` in `directory`: nil when there is none;
    /// opened without following links, a regular file, size-capped.
    static func read(beside name: String, in directory: String) throws(SpoolError) -> SpoolSubmission? {
        let path = directory + "/" + sidecar(of: name)
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw SpoolError(path, "cannot be read: \(String(cString: strerror(errno)))", hint: "remove it; the job then runs without --var values")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size <= maxBytes else {
            throw SpoolError(path, "is not a regular file of at most \(maxBytes) bytes", hint: "remove it")
        }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count == bytes.count, let submission = try? JSONDecoder().decode(SpoolSubmission.self, from: Data(bytes)) else {
            throw SpoolError(path, "is not a submission written by `atomd submit`", hint: "remove it, or submit the job again")
        }
        return submission
    }

    var json: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? Array(encoder.encode(self))) ?? []
    }
}
