import ArgumentParser
import AtomdAgent
import AtomdEngine
import Foundation

struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Go back to an earlier step of a run the agent holds, and run from there again.",
        discussion: """
            TOKEN mode (the default) reverts every step from --from back to --to, newest first, \
            the target included, each with the input, outputs and state its attempt recorded; \
            groups in between revert inside-out. Then the target is pending again and the run \
            pauses (`atomd resume RUN` goes on), or goes on at once with --resume or the job's \
            `rollback: { auto_resume: true }`. Steps run again get new idempotency keys.

            The rules (each refusal names the one that failed and what would be allowed):
              - the run is running or paused (a run that ended revert_failed: --retry);
              - the target succeeded and is a step, not a group or a finally step;
              - --from (default: the last step that ran in the target's scope) is in the same \
            scope as the target: the same sequence, parallel branch or group body; a rollback \
            never crosses into or out of a group;
              - --from finished or failed, and nothing has run after it.

            ANY mode (--mode any) reverts nothing: the operator says the world is already as it \
            was. Any succeeded step is a target when no step is running; every step that finished \
            after it is pending again (its records stay in the event history).

            --reserve (with --to and --from naming a running step) arms the rollback for when that \
            step succeeds; a failure of the step does not fire it (it stays armed for a retry). \
            In ANY mode too (--from then only names the step to wait for: ANY goes back from \
            wherever the run is). The rules are checked when it is armed, as the run will stand \
            then, and again when it is carried out, once running steps have finished; a refusal \
            then pauses the run and says why. One per run; `atomd show` displays it; --cancel \
            drops it. While a rollback reverts its path the run is rolling_back: another \
            rollback, a pause or a resume is refused until it has ended.

            --keep STEP (repeatable, TOKEN mode) keeps a succeeded step of the path in place: it \
            is not reverted and does not run again (bamboo's skip_rollback_nodes).

            --targets lists every step as a target, allowed or why not. --retry retries the revert \
            that failed in a run that ended revert_failed (the only way a failed revert runs \
            again): a rollback it belonged to then finishes, an automatic compensation goes on \
            to its end. --retry --var NAME=VALUE gives declared variables new values first \
            (journaled, like `atomd set`): the retried revert's inputs are evaluated again with \
            them. Secrets are read again from where the job says, never given on the command line.

              atomd rollback RUN --targets
              atomd rollback RUN --to unpack
              atomd rollback RUN --to unpack --from smoke --reserve
              atomd rollback RUN --to build --keep notify
              atomd rollback RUN --retry --var region=eu-west-1
              atomd rollback RUN --retry

            Exit codes: 0 done or requested; 2 refused (the reason and rule are printed); 4 no agent.
            """
    )

    @OptionGroup var target: SteerTarget

    @Option(help: ArgumentHelp("The step to go back to.", valueName: "step"))
    var to: String?

    @Option(help: ArgumentHelp("The step to go back from (TOKEN mode).", valueName: "step"))
    var from: String?

    @Option(help: ArgumentHelp("token: revert the path back to the target; any: jump without reverting.", valueName: "mode"))
    var mode: RollbackMode = .token

    @Flag(help: "Go on from the target at once instead of pausing there.")
    var resume = false

    @Flag(help: "List every step as a target: allowed, or why not (with --from and --mode).")
    var targets = false

    @Flag(help: "Retry the failed revert of a run that ended revert_failed.")
    var retry = false

    @Flag(help: "Arm the rollback for when the running step --from succeeds.")
    var reserve = false

    @Flag(help: "Drop the reserved rollback.")
    var cancel = false

    @Option(name: .customLong("keep"), help: ArgumentHelp("A step of the path to keep in place: not reverted, not run again (repeatable; TOKEN mode).",
                                                          valueName: "step"))
    var keep: [String] = []

    @Option(name: .customLong("var"), help: ArgumentHelp("With --retry: a declared variable's new value for the retried revert (repeatable).",
                                                         valueName: "name=value"))
    var vars: [String] = []

    func validate() throws {
        let actions = [to != nil, targets, retry, cancel].filter { $0 }.count
        guard actions == 1 else { throw ValidationError("give exactly one of --to STEP, --targets, --retry or --cancel") }
        if retry || cancel, from != nil || resume || mode != .token || reserve || !keep.isEmpty {
            throw ValidationError("--retry and --cancel take no --from, --mode, --resume, --reserve or --keep")
        }
        if reserve, to == nil || from == nil { throw ValidationError("--reserve needs --to and --from (the running step it waits for)") }
        if !keep.isEmpty, to == nil || mode != .token { throw ValidationError("--keep goes with --to, in TOKEN mode") }
        if !vars.isEmpty {
            guard retry else { throw ValidationError("--var goes with --retry (`atomd set RUN --var` sets variables of a paused run)") }
            _ = try RunCommand.parseVars(vars)
        }
    }

    func run() async throws {
        let runID = target.runID.percentEscaped
        if targets {
            var query = "?mode=\(mode.rawValue)"
            if let from { query += "&from=\(from.percentEscaped)" }
            let list = try await target.send { client throws(AgentClient.Failure) in try await client.get("/runs/\(runID)/rollback/targets\(query)") }
            return try printTargets(target.client.decode([RollbackTarget].self, from: list))
        }
        if retry {
            let values = try RunCommand.parseVars(vars)
            let body = values.isEmpty ? [] : Array(try JSONEncoder().encode(["vars": values]))
            try await target.request("rollback/retry", body: body,
                                     saying: "retrying the failed revert of run \(target.runID); `atomd show \(target.runID)` follows it")
            return
        }
        if cancel {
            let reply = try await target.send { client throws(AgentClient.Failure) in try await client.post("/runs/\(runID)/rollback/cancel") }
            let dropped = try target.client.decode(RollbackRequest.self, from: reply)
            if target.output.json { return try Output.json(dropped) }
            return Output.line("the rollback reserved for when \(dropped.start ?? "") succeeds is dropped")
        }
        guard let to else { return }
        var body: [String: any Sendable] = ["to": to, "mode": mode.rawValue, "resume": resume, "reserve": reserve]
        body["from"] = from
        if !keep.isEmpty { body["keep"] = keep }
        let bytes = Array(try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]))
        let reply = try await target.send { client throws(AgentClient.Failure) in try await client.post("/runs/\(runID)/rollback", body: bytes) }
        if reserve {
            if target.output.json { return try Output.json(target.client.decode(RollbackRequest.self, from: reply)) }
            return Output.line("rollback reserved: when \(from ?? "") succeeds, run \(target.runID) goes back to \(to)")
        }
        let plan = try target.client.decode(RollbackPlan.self, from: reply)
        if target.output.json { return try Output.json(plan) }
        let what = plan.mode == .token
            ? "from \(plan.start) back to \(plan.target), reverting \(plan.reverts.joined(separator: ", ")) (newest first)"
                + (plan.kept.isEmpty ? "" : ", keeping \(plan.kept.joined(separator: ", ")) in place")
            : "to \(plan.target) without reverting; pending again: \(plan.resets.joined(separator: ", "))"
        Output.line("rollback of run \(target.runID) \(what); "
                    + (plan.resume ? "it goes on from \(plan.target)" : "it then pauses: `atomd resume \(target.runID)` runs \(plan.target) again"))
    }

    private func printTargets(_ list: [RollbackTarget]) throws {
        if target.output.json { return try Output.json(list) }
        let width = list.map(\.path.count).max() ?? 0
        for item in list {
            let pad = String(repeating: " ", count: width - item.path.count)
            Output.line("\(item.path)\(pad)  " + (item.allowed ? "allowed" : "no: \(item.reason ?? "")"))
        }
    }
}

struct RevertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revert",
        abstract: "Compensate a paused run as a whole: every step it did is reverted, newest first.",
        discussion: """
            The `revert` decision for a run paused by `atomd pause` or by a failed step under \
            `on_failure: pause`. The run ends reverted (or revert_failed, saying what is left). \
            Exit codes: 0 requested; 2 not paused or unknown run; 4 no agent.
            """)

    @OptionGroup var target: SteerTarget

    func run() async throws {
        try await target.request("revert", saying: "revert requested for run \(target.runID); `atomd show \(target.runID)` follows it")
    }
}

extension RollbackMode: ExpressibleByArgument {}
