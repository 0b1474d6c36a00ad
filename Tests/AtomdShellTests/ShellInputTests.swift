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

    /// A value that begins an argument word with no `--` before it would be
    /// an option (GNU sed's `-e1e cmd` runs cmd): it is refused when the step
    /// is built; after `--`, or inside a word, it is data.
    @Test func aValueThatWouldBeAnOptionIsRefused() throws {
        let atom = ShellAtom(supervisor: try makeSupervisor().0)
        let values = ActionValues(evaluator: ExpressionEvaluator(contexts: ["vars": .object(["evil": .string("-e1e touch /tmp/x")])]),
                                  environment: [])
        #expect(throws: EvaluationError.self) {
            _ = try atom.input(for: try action("    run: sed 's/a/b/' /etc/hostname ${{ vars.evil }}\n"), values: values)
        }
        for safe in ["sed 's/a/b/' -- ${{ vars.evil }}", "echo ${{ vars.evil }}", "grep -e x \"file${{ vars.evil }}\""] {
            _ = try atom.input(for: try action("    run: \(safe)\n"), values: values)
        }
    }

    /// A script line in one quoting context, and what it must write to
    /// `seen` given the value: the value itself, never altered.
    struct Place: Sendable, CustomStringConvertible {
        var description: String
        var script: String
        var seen: @Sendable (String) -> String
        var bashOnly = false
    }

    static let places: [Place] = [
        Place(description: "bare", script: "printf '%s' ${{ vars.evil }} > seen", seen: { $0 }),
        Place(description: "double-quoted", script: "printf '%s' \"<${{ vars.evil }}>\" > seen", seen: { "<\($0)>" }),
        Place(description: "single-quoted", script: "printf '%s' '<${{ vars.evil }}>' > seen", seen: { "<\($0)>" }),
        Place(description: "ANSI-quoted", script: "printf '%s' $'<\\t${{ vars.evil }}>' > seen", seen: { "<\t\($0)>" }, bashOnly: true),
        Place(description: "assignment", script: "x=${{ vars.evil }}; printf '%s' \"$x\" > seen", seen: { $0 }),
        Place(description: "parameter default", script: "printf '%s' \"${NOT_SET:-${{ vars.evil }}}\" > seen", seen: { $0 }),
        Place(description: "command substitution", script: "printf '%s' \"$(printf '%s.' ${{ vars.evil }})\" > seen", seen: { $0 + "." }),
        Place(description: "heredoc", script: "cat > seen <<EOF\n<${{ vars.evil }}>\nEOF", seen: { "<\($0)>\n" }),
        Place(description: "comment", script: "# ${{ vars.evil }}\nprintf ok > seen", seen: { _ in "ok" }),
    ]

    static let shells = ["bash", "sh"]

    /// DESIGN.md section 2: whatever the quoting context, a value is data. The
    /// value tries every way out: closing quotes, `$(…)`, backquotes, a
    /// backslash at the end, a heredoc's delimiter on a line of its own.
    @Test(arguments: places, shells)
    func aHostileValueIsDataInEveryQuotingContext(_ place: Place, _ shell: String) async throws {
        if place.bashOnly, shell != "bash" { return }
        let (supervisor, directory) = try makeSupervisor()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let marker = directory + "/injected"
        let evil = "x' \" $(touch \(marker)) `touch \(marker)`;touch \(marker) #\n$HOME *\nEOF\n'\\"
        let body = place.script.split(separator: "\n").map { "        " + $0 }.joined(separator: "\n")
        let run = try action("    run:\n      shell: \(shell)\n      cwd: \(directory)\n      script: |\n\(body)\n")
        let values = ActionValues(evaluator: ExpressionEvaluator(contexts: ["vars": .object(["evil": .string(evil)])]),
                                  environment: [])
        let input = try ShellAtom(supervisor: supervisor).input(for: run, values: values)
        #expect(!input["script"].interpolated.contains("touch"), "the value went into the script text")
        _ = try await ShellAtom(supervisor: supervisor).execute(input, context: context())
        #expect(try String(contentsOfFile: directory + "/seen", encoding: .utf8) == place.seen(evil))
        #expect(!FileManager.default.fileExists(atPath: marker), "the value ran a command")
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
