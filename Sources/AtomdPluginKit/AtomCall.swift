import CAtomdPlugin

/// What an atom knows about the call it serves, and its way to talk back.
/// Valid only during the call: do not keep it (it is not Sendable, so
/// Swift 6 keeps it off other tasks).
public struct AtomCall {
    private let call: UnsafePointer<atomd_call>

    init(_ call: UnsafePointer<atomd_call>) {
        self.call = call
    }

    public var runID: String { Self.text(call.pointee.run_id) }
    /// The step's path in the job, groups first: `deploy/unpack`.
    public var stepPath: String { Self.text(call.pointee.step_path) }
    public var attempt: Int { Int(call.pointee.attempt) }
    /// This request's key: RUN/STEP/ATTEMPT for an execute (the same when an
    /// interrupted attempt runs again), RUN/STEP/ATTEMPT/revert/N for a
    /// revert, empty for a check. Name files after `runID` and `stepPath`.
    public var idempotencyKey: String { Self.text(call.pointee.idempotency_key) }

    /// A line for the step's log.
    public func log(_ line: String) {
        guard let log = call.pointee.host?.pointee.log else { return }
        var line = line
        line.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { log(call, $0.baseAddress, $0.count) }
        }
    }

    /// Progress from 0 to 1, with an optional note.
    public func progress(_ fraction: Double, _ note: String? = nil) {
        guard let progress = call.pointee.host?.pointee.progress else { return }
        var note = note ?? ""
        note.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { progress(call, fraction, $0.baseAddress, $0.count) }
        }
    }

    /// True once the step timed out or the run was cancelled: stop soon.
    public var isCancelled: Bool {
        guard let cancelled = call.pointee.host?.pointee.cancelled else { return false }
        return cancelled(call) != 0
    }

    static func text(_ bytes: atomd_bytes) -> String {
        guard let data = bytes.data else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: bytes.length), as: UTF8.self)
    }
}
