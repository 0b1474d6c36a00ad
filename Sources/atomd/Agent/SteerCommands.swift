import ArgumentParser
import Foundation

/// The run a steering command acts on and the agent that holds it.
struct SteerTarget: ParsableArguments {
    @Argument(help: ArgumentHelp("The run id (see `atomd runs`).", valueName: "run"))
    var runID: String

    @Option(help: ArgumentHelp("The atomd home, for its default socket.", valueName: "dir"))
    var home = "./.atomd"

    @OptionGroup var socketOption: SocketOption

    @OptionGroup var output: OutputOptions

    var client: AgentClient { AgentClient(socket: socketOption.path(home: home)) }

    /// One exchange with the agent; a failure prints why and exits 2 or 4.
    func send(_ exchange: (AgentClient) async throws(AgentClient.Failure) -> [UInt8]) async throws -> [UInt8] {
        do {
            return try await exchange(client)
        } catch {
            throw error.exit
        }
    }

    /// Sends `POST /runs/RUN/suffix` and prints what was requested; with
    /// `--json`, the agent's answer (`{"run_id", "requested"}` or
    /// `{"run_id", "step", "decision"}`).
    func request(_ suffix: String, body: [UInt8] = [], saying done: String) async throws {
        let path = "/runs/\(runID.percentEscaped)/\(suffix)"
        let reply = try await send { client throws(AgentClient.Failure) in try await client.post(path, body: body) }
        if output.json {
            try Output.json(client.decode([String: String].self, from: reply))
        } else {
            Output.line(done)
        }
    }
}

struct PauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Pause a run the agent is running: no new step starts; running steps finish.",
        discussion: "`atomd resume RUN` lets it go on. Exit codes: 0 requested; 2 unknown run or not running; 4 no agent.")

    @OptionGroup var target: SteerTarget

    func run() async throws {
        try await target.request("pause", saying: "pause requested for run \(target.runID); `atomd resume \(target.runID)` goes on")
    }
}

struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a run the agent is running: running steps are cancelled, then what was done is reverted.",
        discussion: "Exit codes: 0 requested; 2 unknown run or not running; 4 no agent.")

    @OptionGroup var target: SteerTarget

    func run() async throws {
        try await target.request("cancel", saying: "cancel requested for run \(target.runID); `atomd show \(target.runID)` follows it")
    }
}

/// `retry` and `skip`: answers for a step paused by `on_failure: pause`.
struct DecisionCommand: ParsableArguments {
    @OptionGroup var target: SteerTarget

    @Argument(help: ArgumentHelp("The paused step (its id).", valueName: "step"))
    var step: String

    func send(_ decision: String) async throws {
        try await target.request("steps/\(step.percentEscaped)/\(decision)",
                                 saying: "\(decision) sent for step \(step) of run \(target.runID)")
    }
}

struct RetryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Run a step that failed and paused the run (on_failure: pause) again.",
        discussion: "`atomd show RUN` lists the steps waiting for a decision. Exit codes: 0 sent; 2 not waiting; 4 no agent.")

    @OptionGroup var decision: DecisionCommand

    func run() async throws { try await decision.send("retry") }
}

struct SkipCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skip",
        abstract: "Leave a step that failed and paused the run as skipped, and go on with the job.",
        discussion: "`atomd show RUN` lists the steps waiting for a decision. Exit codes: 0 sent; 2 not waiting; 4 no agent.")

    @OptionGroup var decision: DecisionCommand

    func run() async throws { try await decision.send("skip") }
}
