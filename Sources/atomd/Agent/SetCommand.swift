import ArgumentParser
import AtomdSpec
import Foundation

struct SetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Change variables of a paused run for the steps still to run.",
        discussion: """
            The run must be paused (`atomd pause`, a failed step under `on_failure: pause`, or \
            a rollback). Each name must be declared in the job's vars; the value is read like a \
            YAML scalar, as `atomd run --var` reads it. The change is journaled and shown by \
            `atomd show`; steps that run from now on (after a rollback, the steps run again) see \
            it as ${{ vars.NAME }}. `env:` values were computed when the run started and keep \
            their values. Reverts of steps that already ran use what those steps recorded.

              atomd set RUN --var release=2.0.1

            Exit codes: 0 set; 2 not paused, unknown variable or run; 4 no agent.
            """)

    @OptionGroup var target: SteerTarget

    @Option(name: .customLong("var"), help: ArgumentHelp("A declared variable's new value (repeatable).", valueName: "name=value"))
    var vars: [String] = []

    func validate() throws {
        guard !vars.isEmpty else { throw ValidationError("give at least one --var name=value") }
        _ = try RunCommand.parseVars(vars)
    }

    func run() async throws {
        let values = try RunCommand.parseVars(vars)
        let body = Array(try JSONEncoder().encode(JSONValue.object(values)))
        let path = "/runs/\(target.runID.percentEscaped)/vars"
        let reply = try await target.send { client throws(AgentClient.Failure) in try await client.post(path, body: body) }
        if target.output.json { return try Output.json(target.client.decode([String: String].self, from: reply)) }
        let text = values.keys.sorted().map { "\($0)=\(values[$0]?.interpolated ?? "")" }.joined(separator: " ")
        Output.line("set \(text) in run \(target.runID)")
    }
}
