import AtomdEngine
import AtomdSpec
import Synchronization

/// An atom that does not write step logs itself (http, plugin atoms), with
/// the log files a shell step has: every line it logs, masked, in
/// `DIR/RUN/STEP.ATTEMPT[.PHASE].log`, made on the first line (a call that
/// logs nothing leaves no file), capped and opened as shell logs are.
public struct LoggedAtom: Atom {
    let atom: any Atom
    let directory: String

    public init(_ atom: any Atom, logDirectory: String) {
        self.atom = atom
        directory = logDirectory
    }

    public var name: String { atom.name }
    public var capabilities: AtomCapabilities { atom.capabilities }

    public func providesRevert(for input: JSONValue) -> Bool { atom.providesRevert(for: input) }

    public func input(for action: Action, values: ActionValues) throws(EvaluationError) -> JSONValue {
        try atom.input(for: action, values: values)
    }

    public func execute(_ input: JSONValue, context: AtomContext) async throws -> AtomResult {
        try await logging(context) { try await atom.execute(input, context: $0) }
    }

    public func revert(_ input: JSONValue, outputs: JSONValue?, context: AtomContext) async throws {
        try await logging(context) { try await atom.revert(input, outputs: outputs, context: $0) }
    }

    public func check(_ input: JSONValue, outputs: JSONValue?, context: AtomContext) async throws -> CheckResult {
        try await logging(context) { try await atom.check(input, outputs: outputs, context: $0) }
    }

    public func state(_ input: JSONValue, context: AtomContext) async throws -> JSONValue {
        try await logging(context) { try await atom.state(input, context: $0) }
    }

    public func stopInterrupted(_ input: JSONValue, context: AtomContext) async {
        await atom.stopInterrupted(input, context: context)
    }

    /// Runs `call` with a context whose log lines also go to the file.
    private func logging<T>(_ context: AtomContext, _ call: (AtomContext) async throws -> T) async throws -> T {
        let file = LazyStepLog(path: StepLog.path(in: directory, for: context))
        var logged = AtomContext(runID: context.runID, stepPath: context.stepPath, attempt: context.attempt,
                                 idempotencyKey: context.idempotencyKey, attemptKey: context.attemptKey, mask: context.mask,
                                 log: { [mask = context.mask] line in
                                     file.append(mask(line))
                                     context.log(line)
                                 },
                                 progress: { context.progress($0, $1) }, note: { context.note($0, data: $1) })
        logged.withholdsOutputs = context.withholdsOutputs
        logged.phase = context.phase
        defer { file.close() }
        return try await call(logged)
    }
}

/// A step log opened on its first line. A log that cannot be made loses
/// its lines to the file, never the call: they still reach the run's events.
private final class LazyStepLog: Sendable {
    let path: String
    private let log = Mutex<(file: StepLog?, failed: Bool)>((nil, false))

    init(path: String) {
        self.path = path
    }

    func append(_ line: String) {
        log.withLock { log in
            if log.file == nil, !log.failed {
                log.file = try? StepLog(path: path)
                log.failed = log.file == nil
            }
            log.file?.append(line, stream: "log")
        }
    }

    func close() {
        log.withLock { $0.file?.close() }
    }
}
