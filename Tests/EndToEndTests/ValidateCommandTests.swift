import AtomdTestSupport
import Foundation
import Testing

@Suite struct ValidateCommandTests {
    static let examples = ["launch-and-attach", "deploy-app", "zone-fallback", "parallel-prepare"].map { "etc/jobs/\($0).yaml" }

    @Test func examplesAreValid() async throws {
        let result = try await AtomdProcess.run(["validate"] + Self.examples)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        for file in Self.examples {
            #expect(result.stdout.contains("\(file): ok (job "))
        }
    }

    /// Issue 32, item 8: a step whose check cannot tell its success from
    /// its first change is warned about (the file stays valid), and
    /// --strict fails it, and a read-only step that is not idempotent.
    @Test func stepsACrashWouldLeaveToChanceAreWarnedAbout() async throws {
        let job = try AtomdProcess.temporaryJob("""
            version: 1
            name: doubts
            steps:
              - { id: deploy, run: "touch /tmp/f && smoke-test", check: "test -e /tmp/f", revert: "rm -f /tmp/f" }
              - { id: lint, run: "test -s /tmp/f", revert: none, check: "true" }
              - { id: query, run: "test -s /tmp/f", revert: none }
            """)
        let plain = try await AtomdProcess.run(["validate", job])
        #expect(plain.status == 0, "\(plain.stdout)\(plain.stderr)")
        #expect(plain.stdout.contains("\(job):4:5: warning: step 'deploy': its script ends with `smoke-test`, which its check does not look at"),
                "\(plain.stdout)")
        #expect(plain.stdout.contains("mark it `idempotent: true` to run it again when in doubt"), "\(plain.stdout)")
        #expect(!plain.stdout.contains("not idempotent"), "read-only steps are for --strict: \(plain.stdout)")
        let strict = try await AtomdProcess.run(["validate", "--strict", job])
        #expect(strict.status == 2, "\(strict.stdout)\(strict.stderr)")
        #expect(strict.stdout.contains("\(job):6:5: warning: step 'query': `revert: none`, no check and not idempotent"), "\(strict.stdout)")
        #expect(!strict.stdout.contains("step 'lint': `revert: none`"), "\(strict.stdout)")
    }

    /// `uses:` is resolved against the plugins atomd would load, and `with:`
    /// checked against each atom's input schema, by validate and submit.
    @Test func pluginAtomsAreCheckedAgainstTheInstalledPlugins() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-validate-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: home) }
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: try PluginFixtures.pluginDirectory(["files"]), toPath: home + "/plugins")
        let job = try AtomdProcess.temporaryJob("""
            version: 1
            name: files-job
            vars: { dir: /tmp/x }
            steps:
              - id: config
                uses: files.write
                with: { path: "${{ vars.dir }}/a.conf", content: 12, mdoe: "0644" }
              - id: link
                uses: files.symlnk
                with: { target: /x, path: /y }
              - id: attach
                uses: cloud.attach
              - id: fine
                uses: files.write
                with: { path: "${{ vars.dir }}/b.conf", content: "${{ vars.dir }}" }
            """)
        let checked = try await AtomdProcess.run(["validate", job, "--home", home])
        #expect(checked.status == 2, "\(checked.stdout)\(checked.stderr)")
        let lines = checked.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("\(job):5:5: error: step 'config': files.write: with.content must be string, not a number") })
        #expect(lines.contains { $0.hasPrefix("\(job):5:5: error: step 'config': files.write: with has no 'mdoe'; did you mean 'mode'?") })
        #expect(lines.contains("\(job):8:5: error: step 'link': plugin 'files' has no atom 'symlnk'; did you mean 'symlink'?"))
        #expect(lines.contains { $0.hasPrefix("\(job):11:5: error: step 'attach': no plugin 'cloud' in the plugin directories") })
        #expect(lines.count == 4, "\(checked.stdout)")

        let submitted = try await AtomdProcess.run(["submit", job, "--home", home])
        #expect(submitted.status == 2, "\(submitted.stdout)\(submitted.stderr)")
        #expect(submitted.stderr.contains("has no atom 'symlnk'"), "\(submitted.stderr)")
        #expect(!FileManager.default.fileExists(atPath: home + "/spool"))

        // atomd run refuses a with: that breaks the schema too, before any step runs.
        let wrongInput = try AtomdProcess.temporaryJob("""
            version: 1
            name: files-job
            steps:
              - id: fine
                run: "true"
              - id: config
                uses: files.write
                with: { path: /tmp/a.conf, content: 12 }
            """)
        let run = try await AtomdProcess.run(["run", wrongInput, "--home", home])
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        #expect(run.stderr.contains("\(wrongInput):6:5: step 'config': files.write: with.content must be string"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: home + "/journal.sqlite"))

        let unchecked = try await AtomdProcess.run(["validate", job, "--home", home + "/elsewhere"])
        #expect(unchecked.status == 0, "\(unchecked.stdout)\(unchecked.stderr)")
        #expect(unchecked.stderr.contains("warning: plugin atoms were not checked: no plugin directory"))
    }

    @Test func problemsArePrintedAsFileLineColumnAndExitIs2() async throws {
        let bad = "Tests/AtomdSpecTests/Fixtures/invalid/several-problems.yaml"
        let result = try await AtomdProcess.run(["validate", Self.examples[0], bad])
        #expect(result.status == 2)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("\(bad):6:5: error: unknown key 'tiemout' in a step; did you mean 'timeout'?"))
        #expect(lines.contains { $0.hasPrefix("\(bad):9:15: error: 'converge' is 'yes'") })
        #expect(lines.last == "1 of 2 files invalid, 2 problem(s)")
    }

    @Test func jsonReportListsEveryFile() async throws {
        let bad = "Tests/AtomdSpecTests/Fixtures/invalid/needs-cycle.yaml"
        let result = try await AtomdProcess.run(["validate", "--json", Self.examples[1], bad])
        #expect(result.status == 2)
        struct Report: Decodable {
            struct File: Decodable {
                struct Problem: Decodable { var line: Int; var column: Int; var message: String; var hint: String? }
                var file: String; var valid: Bool; var job: String?; var steps: Int?; var errors: [Problem]
            }
            var valid: Bool
            var files: [File]
        }
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        #expect(!report.valid)
        #expect(report.files.map(\.valid) == [true, false])
        #expect(report.files[0].job == "deploy-app" && report.files[0].steps == 10)
        let problem = try #require(report.files[1].errors.first)
        #expect((problem.line, problem.column) == (8, 11))
        #expect(problem.message.contains("a -> c -> b -> a"))
        #expect(problem.hint == "remove one of these needs")
    }

    @Test func anAliasBombIsRefusedByTheCLI() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-bomb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var yaml = "version: 1\nname: bomb\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
        for (index, name) in "bcdefghij".enumerated() {
            let previous = Array("abcdefghij")[index]
            yaml += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 10).joined(separator: ", ") + "]\n"
        }
        let file = directory.appendingPathComponent("bomb.yaml")
        try (yaml + "steps: [{id: s, run: echo}]\n").write(to: file, atomically: true, encoding: .utf8)
        let result = try await AtomdProcess.run(["validate", file.path])
        #expect(result.status == 2)
        #expect(result.stdout.contains("expands to more than 100000 nodes"))
    }

    @Test func usageErrorsExitWith2() async throws {
        let missing = try await AtomdProcess.run(["validate"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("Usage: atomd validate"))
        let unknown = try await AtomdProcess.run(["frobnicate"])
        #expect(unknown.status == 2)
    }

    @Test func helpReadsLikeAManual() async throws {
        let help = try await AtomdProcess.run(["--help"])
        #expect(help.status == 0)
        for text in ["Exit codes:", "validate", "plan", "compensation failed"] {
            #expect(help.stdout.contains(text), "help lacks \(text)")
        }
        let validate = try await AtomdProcess.run(["help", "validate"])
        #expect(validate.stdout.contains("FILE:LINE:COLUMN: error: MESSAGE"))
    }
}
