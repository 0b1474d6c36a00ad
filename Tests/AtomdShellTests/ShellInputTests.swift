import AtomdEngine
import AtomdSpec
import Foundation
@testable import AtomdShell
import Testing

/// The run atom builds its own input from a job's `run:` action.
@Suite struct ShellInputTests {
    private func action(_ yaml: String) throws -> Action {
        let text = "version: 1\nname: t\nvars: { evil: '', dir: '', name: '' }\nsteps:\n  - id: a\n" + yaml
        return try JobLoader.load(bytes: Array(text.utf8), file: "job.yaml").steps[0].action
    }

    @Test func aHostileValueReachesTheScriptAsOneWordAndNeverRuns() async throws {
        let (supervisor, directory) = try makeSupervisor()
        let atom = ShellAtom(supervisor: supervisor)
        let marker = directory + "/injected"
        let evil = "x'; touch \(marker); echo '$(id)` \\"
        let run = try action("    run: printf '%s' ${{ vars.evil }} > \(directory)/seen\n")
        let values = ActionValues(evaluator: ExpressionEvaluator(contexts: ["vars": .object(["evil": .string(evil)])]),
                                  environment: [])
        let input = try atom.input(for: run, values: values)
        _ = try await atom.execute(input, context: context())
        #expect(try String(contentsOfFile: directory + "/seen", encoding: .utf8) == evil)
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func everyFieldOfTheActionReachesTheProcess() async throws {
        let (supervisor, directory) = try makeSupervisor()
        let atom = ShellAtom(supervisor: supervisor)
        let run = try action("""
                run:
                  script: 'echo "$GREETING from $PWD" > out; exit 3'
                  cwd: ${{ vars.dir }}
                  env: { GREETING: "hello ${{ vars.name }}" }
                  success_codes: [3]
                  kill_grace: 2s

            """)
        let values = ActionValues(evaluator: ExpressionEvaluator(contexts: ["vars": .object([
            "dir": .string(directory), "name": .string("atomd"),
        ])]), environment: [])
        let input = try atom.input(for: run, values: values)
        #expect(input["kill_grace_ms"] == .integer(2000))
        _ = try await atom.execute(input, context: context())
        #expect(try String(contentsOfFile: directory + "/out", encoding: .utf8) == "hello atomd from \(directory)\n")
    }

    @Test func anotherAtomsActionIsRefused() throws {
        let (supervisor, _) = try makeSupervisor()
        let http = try action("    http: { url: 'http://127.0.0.1:1/' }\n")
        #expect(throws: EvaluationError.self) {
            try ShellAtom(supervisor: supervisor).input(for: http, values: ActionValues(evaluator: ExpressionEvaluator(contexts: [:]), environment: []))
        }
    }
}
