import AtomdSpec

/// One kind of step: shell, HTTP, or a plugin's atom. The engine calls it
/// through this protocol only.
///
/// Every call may be cancelled (a timeout, a cancelled run): implementations
/// must honour task cancellation promptly, and must not block the cooperative
/// thread pool (blocking work runs on threads of its own).
public protocol Atom: Sendable {
    /// `run`, `http`, or `PLUGIN.ATOM`.
    var name: String { get }
    /// Whether `revert` and `check` are implemented. When a step has no
    /// `revert:` or `check:` of its own, the atom's are used if it has them.
    var capabilities: AtomCapabilities { get }

    /// Whether `revert` undoes a call with this input, for steps without a
    /// `revert:` of their own. Defaults to the `.revert` capability.
    func providesRevert(for input: JSONValue) -> Bool

    /// Builds this atom's input from a step's action, or from a `revert:`,
    /// `check:` or `state:` action, with the values known now. The atom owns
    /// the shape: the engine journals the result and hands it back unread.
    /// The default renders a plugin action's `with:`.
    func input(for action: Action, values: ActionValues) throws(EvaluationError) -> JSONValue

    /// Makes the change. Returns outputs (and, optionally, old and new state).
    func execute(_ input: JSONValue, context: AtomContext) async throws -> AtomResult

    /// Undoes the change. Must tolerate "it never happened".
    func revert(_ input: JSONValue, outputs: JSONValue?, context: AtomContext) async throws

    /// Tells whether the change is present in the world.
    func check(_ input: JSONValue, outputs: JSONValue?, context: AtomContext) async throws -> CheckResult

    /// Runs a `state:` probe: what the world looks like now, as a JSON
    /// object of keys (`state.before.KEY` / `state.after.KEY`). Must change
    /// nothing. Defaults to `execute`'s outputs, for plugin atoms that read.
    func state(_ input: JSONValue, context: AtomContext) async throws -> JSONValue

    /// Recovery: the agent stopped while the attempt with
    /// `context.idempotencyKey` was running. Stops whatever that attempt may
    /// still have running (a shell step's processes), before its check runs
    /// or the step runs again. Defaults to nothing.
    func stopInterrupted(_ input: JSONValue, context: AtomContext) async
}

extension Atom {
    public var capabilities: AtomCapabilities { [] }

    public func providesRevert(for input: JSONValue) -> Bool { capabilities.contains(.revert) }

    public func input(for action: Action, values: ActionValues) throws(EvaluationError) -> JSONValue {
        guard case .plugin(let plugin) = action else {
            throw EvaluationError(message: "atom '\(name)' cannot take a '\(action.keyword)' action")
        }
        return try values.render(plugin.with)
    }

    public func revert(_ input: JSONValue, outputs: JSONValue?, context: AtomContext) async throws {
        throw AtomError("atom '\(name)' cannot revert")
    }

    public func check(_ input: JSONValue, outputs: JSONValue?, context: AtomContext) async throws -> CheckResult {
        throw AtomError("atom '\(name)' has no check")
    }

    public func stopInterrupted(_ input: JSONValue, context: AtomContext) async {}

    public func state(_ input: JSONValue, context: AtomContext) async throws -> JSONValue {
        try await execute(input, context: context).outputs
    }
}

/// What an atom implements besides `execute`.
public struct AtomCapabilities: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let revert = AtomCapabilities(rawValue: 1)
    /// `check` given the input of the atom's own execute tells whether that
    /// execute's effect is there, so a step without a `check:` is probed
    /// with it. Atoms that only serve `check:` actions (a `run:` or `http:`
    /// probe) do not claim it: their check runs the probe they are given.
    public static let check = AtomCapabilities(rawValue: 2)
}

/// The answer of a check.
public enum CheckResult: Sendable, Hashable {
    /// The effect is there; a check may return the outputs it found, and
    /// the answer it read (an HTTP response), from which a step settled by
    /// its check computes its declared `outputs:` as `response`.
    case present(outputs: JSONValue?, response: JSONValue? = nil)
    case absent
    /// The probe could not tell.
    case unknown(String)
}

/// What `execute` returns.
public struct AtomResult: Sendable, Hashable {
    public var outputs: JSONValue
    /// The state before and after, when the atom can tell (kept for revert).
    public var oldState: JSONValue?
    public var newState: JSONValue?
    /// The call's whole answer (an HTTP response), which the step's
    /// `outputs:` read as `response`; nothing of it is kept unless declared.
    public var response: JSONValue?
    /// Kept with the result but not an output: an exit code, the log file,
    /// the last lines of output.
    public var details: JSONValue?

    public init(outputs: JSONValue = .object([:]), oldState: JSONValue? = nil, newState: JSONValue? = nil,
                response: JSONValue? = nil, details: JSONValue? = nil) {
        self.outputs = outputs
        self.oldState = oldState
        self.newState = newState
        self.response = response
        self.details = details
    }
}

/// An atom's failure. `exitCode` lets `retry.on: [75]` select shell failures.
public struct AtomError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var exitCode: Int?
    /// False for failures that another attempt cannot fix (a 403, a 404):
    /// the step's retry policy does not apply to them.
    public var retryable: Bool
    /// The server asked to wait this long (`Retry-After`); the next attempt
    /// waits at least this, whatever the policy's delay.
    public var retryAfter: Duration?
    /// True when the atom knows the call changed nothing (a server refused
    /// it with a 4xx): no check is needed and nothing is reverted.
    public var changedNothing: Bool
    /// True when the call may have taken effect although no answer says so
    /// (a request sent whose answer timed out or was cut off): the next
    /// attempt asks the step's check first and repeats the request under
    /// the same idempotency key, and the step's effect stays in doubt.
    public var outcomeUnknown: Bool

    public init(_ message: String, exitCode: Int? = nil, retryable: Bool = true, retryAfter: Duration? = nil,
                changedNothing: Bool = false, outcomeUnknown: Bool = false) {
        self.message = message
        self.exitCode = exitCode
        self.retryable = retryable
        self.retryAfter = retryAfter
        self.changedNothing = changedNothing && !outcomeUnknown
        self.outcomeUnknown = outcomeUnknown
    }

    public var description: String { message }
}

/// What an atom knows about the call it is serving.
/// Which call of a step an atom serves: what a shell step's log file is
/// named after, so that a revert does not overwrite the log of the execute
/// it undoes.
public enum AtomPhase: String, Sendable, Hashable {
    case execute, revert, check, state
}

public struct AtomContext: Sendable {
    public var runID: String
    /// The step's path in the job, groups first: `place/server`.
    public var stepPath: String
    public var attempt: Int
    /// This request's key. An execute: `RUN/STEP/ATTEMPT`, the same when an
    /// interrupted attempt is re-run. A revert: `RUN/STEP/ATTEMPT/revert/N`,
    /// one per revert attempt, never the create's. A check: empty, since a
    /// probe changes nothing and must not be tied to a key.
    public var idempotencyKey: String
    /// The key of the execute attempt this call executes, undoes or probes:
    /// what the processes a shell step started carry.
    public var attemptKey: String
    /// The run's secrets and the values derived from them: an atom masks
    /// what it stores itself (a shell step's log file) with it.
    public var mask: SecretMask
    /// The step declares outputs that are secrets (`mask:`), which are masked
    /// only once the step reports them: until then an atom shows nothing
    /// they could be in (the http atom withholds response bodies).
    public var withholdsOutputs = false
    /// With `attempt`: the execute attempt, or for a revert the revert attempt.
    public var phase: AtomPhase = .execute
    let logSink: @Sendable (String) -> Void
    let progressSink: @Sendable (Double, String?) -> Void
    let noteSink: @Sendable (String, JSONValue?) -> Void

    public init(runID: String, stepPath: String, attempt: Int, idempotencyKey: String, attemptKey: String? = nil,
                mask: SecretMask = SecretMask(),
                log: @escaping @Sendable (String) -> Void = { _ in },
                progress: @escaping @Sendable (Double, String?) -> Void = { _, _ in },
                note: @escaping @Sendable (String, JSONValue?) -> Void = { _, _ in }) {
        self.runID = runID
        self.stepPath = stepPath
        self.attempt = attempt
        self.idempotencyKey = idempotencyKey
        self.attemptKey = attemptKey ?? idempotencyKey
        self.mask = mask
        self.logSink = log
        self.progressSink = progress
        self.noteSink = note
    }

    /// A fact about this attempt worth keeping in the run's journal, such as
    /// the process group a shell step started. Recorded in the background.
    public func note(_ text: String, data: JSONValue? = nil) { noteSink(text, data) }

    /// A line for the step's log (shown live, kept with the run).
    public func log(_ line: String) { logSink(line) }

    /// Progress from 0 to 1, with an optional note.
    public func progress(_ fraction: Double, _ note: String? = nil) { progressSink(fraction, note) }
}
