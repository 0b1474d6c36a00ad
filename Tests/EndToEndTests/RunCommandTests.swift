import Foundation
import Testing

@Suite struct RunCommandTests {
    @Test func theDemoSucceedsWithExitCode0() async throws {
        let result = try await AtomdProcess.run(["run", "etc/jobs/compensation-demo.yaml"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("flaky-api running (attempt 3)"))
        #expect(result.stdout.contains("services/app succeeded"))
        #expect(result.stdout.contains("(compensation-demo): succeeded — every step done"))
    }

    @Test func aFailureIsCompensatedWithExitCode1AndEveryActionListed() async throws {
        let result = try await AtomdProcess.run(["run", "etc/jobs/compensation-demo.yaml", "--var", "fail=true"])
        #expect(result.status == 1)
        let summary = try #require(result.stdout.components(separatedBy: "compensation:").last)
        for step in ["services/app", "services/database", "disks/disk-a", "network"] {
            #expect(summary.contains("  \(step): reverted"), "summary lacks \(step)")
        }
        // Newest first: the graph's app before its database, the disks before the network.
        let app = try #require(summary.range(of: "services/app: reverted"))
        let database = try #require(summary.range(of: "services/database: reverted"))
        let network = try #require(summary.range(of: "network: reverted"))
        #expect(app.lowerBound < database.lowerBound && database.lowerBound < network.lowerBound)
        #expect(result.stdout.contains("smoke-test (failed): test.fail: failing as asked"))
    }

    /// Found by review: what others wrote (an API's answer, a step's
    /// output, an error) reaches the operator's terminal without its escape
    /// sequences, which could clear the screen, forge a line or retitle the
    /// window.
    @Test func controlCharactersFromOthersAreShownNotObeyed() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-home-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: home) }
        let job = try AtomdProcess.temporaryJob("""
            version: 1
            name: escapes
            steps:
              - id: loud
                run: |
                  printf 'before\\033]0;pwned\\007\\033[2Jafter\\r\\n'
                  printf 'bad\\033[31m\\n' >&2
                  exit 3
            """)
        let result = try await AtomdProcess.run(["run", job, "--home", home])
        #expect(result.status == 1)
        for text in [result.stdout, result.stderr] {
            #expect(!text.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x0D }, "\(text.debugDescription)")
        }
        #expect(result.stdout.contains(#"before\u{1B}]0;pwned\u{7}\u{1B}[2Jafter"#), "\(result.stdout)")
        let shown = try await AtomdProcess.run(["logs", try #require(result.stdout.split(separator: " ").first { $0.hasPrefix("20") }.map(String.init)),
                                                "loud", "--home", home])
        #expect(!shown.stdout.unicodeScalars.contains { $0.value == 0x1B }, "\(shown.stdout.debugDescription)")
    }

    @Test func jsonPrintsOneEventPerLineAndASummaryLast() async throws {
        let result = try await AtomdProcess.run(["run", "--json", "etc/jobs/compensation-demo.yaml", "--var", "fail=true"])
        #expect(result.status == 1)
        let lines = result.stdout.split(separator: "\n")
        let objects = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let summary = try #require(objects.last)
        #expect(summary["status"] as? String == "reverted")
        let steps = try #require(summary["steps"] as? [[String: Any]])
        let flaky = try #require(steps.first { $0["id"] as? String == "flaky-api" })
        #expect(flaky["attempts"] as? Int == 3)
        #expect(steps.first { $0["id"] as? String == "disk-a" }?["path"] as? String == "disks/disk-a")
        let events = objects.dropLast()
        #expect(events.count > 20)
        let sequences = events.compactMap { $0["sequence"] as? Int }
        #expect(Set(sequences).count == sequences.count)
        #expect(events.allSatisfy { $0["run_id"] as? String == summary["run_id"] as? String })
        // The control API's flat shape: kind and status are plain strings.
        #expect(events.first?["kind"] as? String == "run" && events.first?["status"] as? String == "running")
        #expect(events.contains { $0["kind"] as? String == "step" && $0["path"] as? String == "disks/disk-a" && $0["status"] as? String == "reverted" })
        #expect(events.contains { $0["kind"] as? String == "log" && $0["detail"] is String })
        #expect(events.allSatisfy { ($0["time"] as? String)?.contains(".") == true })
    }

    @Test func aFailedRevertExitsWith3AndSaysWhatIsLeft() async throws {
        let job = try AtomdProcess.temporaryJob("""
            version: 1
            name: stuck
            steps:
              - { id: keep, uses: test.world, with: { flag: keep } }
              - { id: stuck, uses: test.world, with: { flag: stuck, revert_fails: true } }
              - { id: boom, uses: test.fail, with: { always: true } }
            """)
        let result = try await AtomdProcess.run(["run", job])
        #expect(result.status == 3)
        #expect(result.stdout.contains("revert_failed — compensation failed; some changes are left behind"))
        #expect(result.stdout.contains("left behind (check these by hand):\n  keep (succeeded)\n  stuck (revert_failed)"))
    }

    @Test func jobsNeedingMissingAtomsAreRefusedBeforeAnythingRuns() async throws {
        let job = try AtomdProcess.temporaryJob("version: 1\nname: plugin\nsteps:\n  - { id: a, run: echo hi }\n  - { id: b, uses: cloud.attach }\n")
        let result = try await AtomdProcess.run(["run", job])
        #expect(result.status == 2)
        #expect(result.stderr.contains("plugin cloud: no plugin named 'cloud'"))
        #expect(result.stderr.contains("put cloud.so into one of those directories"))
        #expect(result.stdout.isEmpty)
    }

    @Test func varsMustBeDeclaredAndWellFormed() async throws {
        let unknown = try await AtomdProcess.run(["run", "etc/jobs/compensation-demo.yaml", "--var", "nope=1"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("--var nope: the job declares no variable 'nope'"))
        let malformed = try await AtomdProcess.run(["run", "etc/jobs/compensation-demo.yaml", "--var", "fail"])
        #expect(malformed.status == 2)
        #expect(malformed.stderr.contains("--var takes name=value"))
    }

    @Test func missingSecretsAreRefused() async throws {
        let job = try AtomdProcess.temporaryJob("""
            version: 1
            name: secret
            secrets: { token: { env: ATOMD_TEST_SURELY_UNSET } }
            steps:
              - { id: a, uses: test.noop, with: { t: "${{ secrets.token }}" } }
            """)
        let result = try await AtomdProcess.run(["run", job])
        #expect(result.status == 2)
        #expect(result.stderr.contains("secret 'token': environment variable ATOMD_TEST_SURELY_UNSET is not set"))
    }

    @Test func aPausedRunSaysWhatTheOperatorCanDoAndCtrlCCompensates() async throws {
        let job = try AtomdProcess.temporaryJob("""
            version: 1
            name: paused
            on_failure: pause
            steps:
              - { id: made, uses: test.world, with: { flag: made } }
              - { id: broken, uses: test.fail, with: { always: true } }
            """)
        let result = try await AtomdProcess.interrupt(["run", job], once: " paused: step 'broken' failed")
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("run paused: step 'broken' failed"))
        #expect(result.stdout.contains("made reverted"))
    }

    @Test func ctrlCCancelsAndCompensates() async throws {
        let job = try AtomdProcess.temporaryJob("""
            version: 1
            name: interrupted
            steps:
              - { id: made, uses: test.world, with: { flag: made } }
              - { id: wait, uses: test.sleep, with: { for: 1h } }
            """)
        let result = try await AtomdProcess.interrupt(["run", job], once: "wait running (attempt 1)")
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("cancelling"))
        #expect(result.stdout.contains("made reverted"))
        #expect(result.stdout.contains("cancelled; everything done was reverted"))
    }
}
