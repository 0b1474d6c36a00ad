import AtomdEngine
import AtomdSpec
import Glibc

/// The `run` atom: shell steps, and `run:` reverts and checks.
///
/// Execute succeeds when the exit code is in `success_codes` (default 0). As a
/// check, those codes mean present, `absent_codes` (default 1) absent, and
/// anything else unknown. A `keep_running: true` step's automatic revert
/// stops the process tree it left running.
public struct ShellAtom: Atom {
    public let name = "run"
    /// Its check runs the probe it is given, not the step's own script, so
    /// it does not claim `.check`.
    public let capabilities: AtomCapabilities = [.revert]
    let supervisor: ProcessSupervisor

    /// How many lines of output an error message carries (the result's
    /// details keep the whole tail, up to 64 KiB).
    static let errorTailLines = 20

    public init(supervisor: ProcessSupervisor) {
        self.supervisor = supervisor
    }

    public func providesRevert(for input: JSONValue) -> Bool {
        input["keep_running"] == .bool(true)
    }

    public func input(for action: Action, values: ActionValues) throws(EvaluationError) -> JSONValue {
        guard case .run(let shell) = action else { throw EvaluationError(message: "the run atom takes a run: action") }
        return try ShellCommand.input(for: shell, values: values)
    }

    public func execute(_ input: JSONValue, context: AtomContext) async throws -> AtomResult {
        let command = try Self.command(input)
        let outcome = try await runToSuccess(command, context: context, announce: true)
        if let problem = outcome.outputsError { throw AtomError(problem) }
        var outputs = outcome.outputs.mapValues(JSONValue.string)
        if command.keepRunning {
            outputs["process_group"] = .integer(Int64(outcome.processGroup))
            outputs["process_token"] = .string(outcome.token)
        }
        return AtomResult(outputs: .object(outputs), details: Self.details(outcome))
    }

    public func check(_ input: JSONValue, outputs: JSONValue?, context: AtomContext) async throws -> CheckResult {
        let command = try Self.command(input)
        let outcome = try await run(command, context: context)
        if outcome.terminated { throw CancellationError() }
        guard let code = outcome.exitCode else { return .unknown(Self.describeFailure(outcome)) }
        if command.successCodes.contains(code) {
            return .present(outputs: outcome.outputs.isEmpty ? nil : .object(outcome.outputs.mapValues(JSONValue.string)))
        }
        if command.absentCodes.contains(code) { return .absent }
        return .unknown("check exited with code \(code)")
    }

    /// A `state:` probe: its standard output, a JSON object or `KEY=VALUE`
    /// lines, with whatever it wrote to `$ATOMD_OUTPUT`.
    public func state(_ input: JSONValue, context: AtomContext) async throws -> JSONValue {
        let outcome = try await runToSuccess(try Self.command(input), context: context)
        var state = try StateText.parse(outcome.stdout.joined(separator: "\n"))
        if case .object(var members) = state {
            for (key, value) in outcome.outputs { members[key] = .string(value) }
            state = .object(members)
        }
        return state
    }

    /// Stops what a `keep_running` step left running: the processes whose
    /// token starts with the attempt's own key. Not the recorded process
    /// group, which the kernel hands to others once it is empty, and not a
    /// token from the outputs, which a job's declared `outputs:` can set.
    public func revert(_ input: JSONValue, outputs: JSONValue?, context: AtomContext) async throws {
        let command = try Self.command(input)
        let stopped = await ProcessTree.terminateInterrupted(prefix: context.attemptKey + "#", grace: command.killGrace)
        // What dropped the token and left the group is still in the cgroup.
        let cgroups = await StepCgroup.killKept(supervisor.containment, attemptKey: context.attemptKey)
        context.log("[atomd] stopped \(stopped.count) process(es) of attempt \(context.attemptKey)"
                    + (cgroups > 0 ? " and emptied its cgroup" : ""))
    }

    /// Recovery: stops what the interrupted attempt (or its check) left
    /// running, found by the token every process of the attempt carries.
    public func stopInterrupted(_ input: JSONValue, context: AtomContext) async {
        let grace = (try? Self.command(input))?.killGrace ?? .seconds(5)
        let stopped = await ProcessTree.terminateInterrupted(prefix: context.idempotencyKey + "#", grace: grace)
        if !stopped.isEmpty {
            context.note("stopped \(stopped.count) process(es) left by the interrupted attempt: "
                         + stopped.map(String.init).joined(separator: ", "))
        }
    }

    /// Runs the command; an exit code outside `success_codes` fails the call.
    private func runToSuccess(_ command: ShellCommand, context: AtomContext, announce: Bool = false) async throws
        -> ProcessSupervisor.Outcome {
        let outcome = try await run(command, context: context, announce: announce)
        if outcome.terminated { throw CancellationError() }
        guard let code = outcome.exitCode, command.successCodes.contains(code) else {
            throw AtomError(Self.describeFailure(outcome), exitCode: outcome.exitCode)
        }
        return outcome
    }

    /// Supervisor and input errors become step failures with their message.
    /// `announce`: journal the process group once it starts (execute only).
    private func run(_ command: ShellCommand, context: AtomContext, announce: Bool = false) async throws -> ProcessSupervisor.Outcome {
        do {
            return try await supervisor.run(command, context: context, announce: announce)
        } catch {
            throw AtomError(error.message)
        }
    }

    private static func command(_ input: JSONValue) throws -> ShellCommand {
        do {
            return try ShellCommand(input: input)
        } catch {
            throw AtomError(error.message)
        }
    }

    static func describeFailure(_ outcome: ProcessSupervisor.Outcome) -> String {
        let how = outcome.exitCode.map { "exited with code \($0)" } ?? "killed by signal \(outcome.signal ?? 0)"
        let tail = outcome.tail.suffix(errorTailLines)
        guard !tail.isEmpty else { return "\(how); no output (log: \(outcome.logPath))" }
        return "\(how); last output:\n" + tail.map { "  \($0)" }.joined(separator: "\n") + "\n(log: \(outcome.logPath))"
    }

    static func details(_ outcome: ProcessSupervisor.Outcome) -> JSONValue {
        .object([
            "exit_code": outcome.exitCode.map { .integer(Int64($0)) } ?? .null,
            "log": .string(outcome.logPath),
            "tail": .array(outcome.tail.map(JSONValue.string)),
        ])
    }
}

