import AtomdTestSupport
import Foundation
import Testing

/// The promise of compensation, tested on the world after the run: with the
/// real binary, real processes, real files and a FakeCloud whose keys are as
/// strict as Stripe's. Each test failed on the code before issue 15.
@Suite struct CompensationPromiseTests {
    /// A scratch directory for the world a job changes, and a home for atomd.
    struct Scene {
        let world: String
        let home: String

        init() throws {
            let base = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-promise-\(UUID().uuidString)").path
            world = base + "/world"
            home = base + "/home"
            try FileManager.default.createDirectory(atPath: world, withIntermediateDirectories: true)
        }

        func run(_ yaml: String, _ extra: [String] = [], environment: [String: String] = [:]) async throws -> AtomdProcess.Result {
            let job = try AtomdProcess.temporaryJob(yaml)
            return try await AtomdProcess.run(["run", job, "--home", home, "--var", "dir=\(world)"] + extra, environment: environment)
        }

        /// Runs the job, which must fail and be fully compensated (exit 1).
        func runCompensated(_ yaml: String, _ extra: [String] = [], sourceLocation: Testing.SourceLocation = #_sourceLocation)
            async throws -> AtomdProcess.Result {
            let result = try await run(yaml, extra)
            #expect(result.status == 1, "\(result.stdout)\(result.stderr)", sourceLocation: sourceLocation)
            return result
        }

        func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: world + "/" + name) }

        func contents() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: world).sorted() }

        func cleanUp() {
            try? FileManager.default.removeItem(atPath: (world as NSString).deletingLastPathComponent)
        }
    }

    static let release = """
        version: 1
        name: release
        vars: { dir: "", later_fails: false, converge: false }
        steps:
          - id: release
            run: if [ ${{ vars.converge }} = true ]; then mkdir -p -- ${{ vars.dir }}/release; else mkdir -v -- ${{ vars.dir }}/release; fi
            check: test -d ${{ vars.dir }}/release
            revert: rm -rf ${{ vars.dir }}/release
          - id: later
            run: test ${{ vars.later_fails }} = false
        """

    @Test func aFailedStepNeverDestroysWhatWasThereBefore() async throws {
        let scene = try Scene()
        defer { scene.cleanUp() }
        try FileManager.default.createDirectory(atPath: scene.world + "/release", withIntermediateDirectories: true)
        try "live".write(toFile: scene.world + "/release/app.txt", atomically: true, encoding: .utf8)

        let result = try await scene.runCompensated(Self.release)
        #expect(scene.exists("release/app.txt"), "the existing release was deleted:\n\(result.stdout)")
        #expect(result.stdout.contains("release: left as found"), "\(result.stdout)")
        #expect(result.stdout.contains("errors:\n  release (failed)"), "\(result.stdout)")
    }

    @Test func aSucceededStepWhoseEffectWasThereIsNotRevertedWhenALaterOneFails() async throws {
        let scene = try Scene()
        defer { scene.cleanUp() }
        try FileManager.default.createDirectory(atPath: scene.world + "/release", withIntermediateDirectories: true)
        try "live".write(toFile: scene.world + "/release/app.txt", atomically: true, encoding: .utf8)

        let result = try await scene.runCompensated(Self.release, ["--var", "converge=true", "--var", "later_fails=true"])
        #expect(scene.exists("release/app.txt"), "\(result.stdout)")
        #expect(result.stdout.contains("release: left as found"), "\(result.stdout)")
    }

    @Test func whatTheRunMadeIsStillReverted() async throws {
        let scene = try Scene()
        defer { scene.cleanUp() }
        let result = try await scene.runCompensated(Self.release, ["--var", "later_fails=true"])
        #expect(!scene.exists("release"), "\(result.stdout)")
        #expect(result.stdout.contains("release: reverted"), "\(result.stdout)")
    }

    /// Reverts and checks see the retry items of the attempt they undo, the
    /// outer group's too, long after the group moved on.
    @Test func revertsAndChecksSeeTheirAttemptsRetryItems() async throws {
        let scene = try Scene()
        defer { scene.cleanUp() }
        let result = try await scene.runCompensated("""
            version: 1
            name: zones
            vars: { dir: "" }
            steps:
              - id: zones
                retry: { for_each: [a, b] }
                group:
                  steps:
                    - id: disks
                      retry: { times: 2 }
                      group:
                        steps:
                          - id: disk
                            run: touch ${{ vars.dir }}/${{ groups.zones.item }}-${{ retry.attempt }}
                            check: test -e ${{ vars.dir }}/${{ groups.zones.item }}-${{ retry.attempt }}
                            revert: rm ${{ vars.dir }}/${{ groups.zones.item }}-${{ retry.attempt }}
                          - id: fit
                            run: test ${{ groups.zones.item }} = b
              - id: boom
                run: exit 1
            """)
        #expect(try scene.contents() == [], "\(result.stdout)")
        // Zone a: two attempts made and reverted; zone b: made, then reverted by the final compensation.
        let disk = try Self.journaled(scene, "idempotency_key", step: "disk")
        #expect(disk.filter { $0.contains("/revert/") }.count == 3, "\(disk)")
    }

    /// A revert gets its own idempotency key: an API that ties a key to its
    /// first request refuses a revert sent with the create's key (422) and,
    /// for a revert that is a POST, would replay the create's answer.
    @Test func revertsUseKeysOfTheirOwnAgainstAStrictAPI() async throws {
        let scene = try Scene()
        defer { scene.cleanUp() }
        let cloud = try await FakeCloudProcess(["--build-delay", "0"])
        let result = try await scene.runCompensated("""
            version: 1
            name: strict
            vars: { dir: "", api: "" }
            steps:
              - id: server
                http: { method: POST, url: "${{ vars.api }}/servers", json: { name: web-1 }, expect: [201] }
                outputs: { id: "${{ response.json.id }}" }
                revert:
                  http: { method: DELETE, url: "${{ vars.api }}/servers/${{ outputs.id }}", expect: [204, 404] }
              - id: volume
                http: { method: POST, url: "${{ vars.api }}/volumes", json: { size_gb: 1 }, expect: [201] }
                outputs: { id: "${{ response.json.id }}" }
                revert:
                  http: { method: DELETE, url: "${{ vars.api }}/volumes/${{ outputs.id }}", expect: [204, 404] }
              - id: attach
                http:
                  method: POST
                  url: ${{ vars.api }}/servers/${{ steps.server.outputs.id }}/attachments
                  json: { volume: "${{ steps.volume.outputs.id }}" }
                  expect: [201]
                revert:
                  http:
                    method: POST
                    url: ${{ vars.api }}/servers/${{ steps.server.outputs.id }}/detach
                    json: { volume: "${{ steps.volume.outputs.id }}" }
                    expect: [204]
              - id: boom
                run: exit 1
            """, ["--var", "api=\(cloud.base)"])
        #expect(try await cloud.live() == ["servers": [], "volumes": [], "attachments": []])
        let ledger = try JSONSerialization.jsonObject(with: Data(try await cloud.call("GET", "/ledger").body)) as? [String: Any]
        let events = ledger?["events"] as? [[String: Any]] ?? []
        let creates = Set(events.filter { $0["op"] as? String == "create" }.compactMap { $0["idempotency_key"] as? String })
        let deletes = events.filter { $0["op"] as? String == "delete" }.compactMap { $0["idempotency_key"] as? String }
        #expect(creates.count == 3 && deletes.count == 3, "\(events)")
        #expect(deletes.allSatisfy { !creates.contains($0) && $0.contains("/revert/1") }, "\(deletes)")
    }

    /// A service a revert stops is gone at once: atomd, its subreaper,
    /// reaps it, so `kill -0 PID` (the natural check) says absent. Before,
    /// it stayed a zombie of atomd for ever: this revert, which waits for
    /// the service to go, timed out.
    @Test func aStoppedServiceIsReapedSoItsCheckSaysAbsent() async throws {
        let scene = try Scene()
        defer { scene.cleanUp() }
        let result = try await scene.runCompensated("""
            version: 1
            name: service
            vars: { dir: "" }
            steps:
              - id: service
                run:
                  script: |
                    sleep 300 &
                    echo "pid=$!" >> "$ATOMD_OUTPUT"
                  keep_running: true
                revert:
                  run: kill ${{ outputs.pid }} && while kill -0 ${{ outputs.pid }} 2>/dev/null; do sleep 0.01; done
                  timeout: 10s
                check: kill -0 ${{ outputs.pid }}
              - id: boom
                run: exit 1
            """)
        #expect(result.stdout.contains("service: reverted"), "\(result.stdout)")
    }

    /// Hostile numbers fail the step with a clear error; atomd never traps.
    @Test func anOutOfRangeNumberFailsTheStepNotAtomd() async throws {
        let scene = try Scene()
        defer { scene.cleanUp() }
        let result = try await scene.runCompensated("""
            version: 1
            name: hostile
            vars: { dir: "" }
            steps:
              - id: huge
                uses: test.fail
                with: { exit_code: 1e300 }
            """)
        #expect(result.stdout.contains("'exit_code' must be a whole number from 0 to 255"), "\(result.stdout)")
    }

    /// The test atoms exist only where a test enables them.
    @Test func testAtomsAreRefusedUnlessEnabled() async throws {
        let scene = try Scene()
        defer { scene.cleanUp() }
        let yaml = "version: 1\nname: t\nvars: { dir: \"\" }\nsteps:\n  - { id: a, uses: test.noop }\n"
        let refused = try await scene.run(yaml, environment: ["ATOMD_TEST_ATOMS": ""])
        #expect(refused.status == 2, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("test atoms (test.*), which are for tests and demos only"), "\(refused.stderr)")
        await #expect(try scene.run(yaml).status == 0)
    }

    // MARK: Journal reading

    static func runIDs(_ scene: Scene) async throws -> [String] {
        let listed = try await AtomdProcess.run(["runs", "--home", scene.home, "--json"])
        let runs = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []
        return runs.compactMap { $0["id"] as? String }
    }

    static func runStatus(_ scene: Scene, _ runID: String) async throws -> String? {
        let shown = try await AtomdProcess.run(["show", runID, "--home", scene.home, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any]
        return (object?["run"] as? [String: Any])?["status"] as? String
    }

    /// A column of every journaled event ("" for NULL), of one step or of
    /// the whole run, read by SQLite's own Python binding.
    static func journaled(_ scene: Scene, _ column: String, step: String?) throws -> [String] {
        let process = Process()
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let query = step == nil ? "SELECT \(column) FROM events ORDER BY rowid"
            : "SELECT \(column) FROM events WHERE step_id = ? ORDER BY rowid"
        process.arguments = ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); "
                             + "[print(r[0] or '') for r in c.execute(sys.argv[2], sys.argv[3:])]",
                             scene.home + "/journal.sqlite", query] + (step.map { [$0] } ?? [])
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }
}

/// Crash tests run in the crash phase of scripts/test: each case runs atomd
/// a few dozen times, one after another.
@Suite struct RevertCrashTests {
    /// The outcome never depends on when a crash hit: a revert journaled as
    /// failed stays failed, at every crash point, even when running it
    /// again would have worked (this revert fails once, then succeeds).
    @Test(arguments: ["sequence", "times"])
    func aFailedRevertIsFinalAtEveryCrashPoint(_ shape: String) async throws {
        let yaml = shape == "times" ? """
            version: 1
            name: final
            vars: { dir: "" }
            steps:
              - id: g
                retry: { times: 2 }
                group:
                  steps:
                    - id: a
                      run: touch ${{ vars.dir }}/a
                      revert: test -e ${{ vars.dir }}/tried || { touch ${{ vars.dir }}/tried; exit 7; }
                    - id: b
                      run: exit 1
            """ : """
            version: 1
            name: final
            vars: { dir: "" }
            steps:
              - id: a
                run: touch ${{ vars.dir }}/a
                revert: test -e ${{ vars.dir }}/tried || { touch ${{ vars.dir }}/tried; exit 7; }
              - id: b
                run: exit 1
            """
        let reference = try CompensationPromiseTests.Scene()
        defer { reference.cleanUp() }
        let plain = try await reference.run(yaml)
        #expect(plain.status == 3, "\(plain.stdout)\(plain.stderr)")
        let writes = try CompensationPromiseTests.journaled(reference, "idempotency_key", step: nil).count + 1
        try #require(writes > 8)
        var finalPoints = 0
        for point in 2...writes {
            // Each run blocks its thread: let other tests run in between.
            await Task.yield()
            let scene = try CompensationPromiseTests.Scene()
            defer { scene.cleanUp() }
            let crashed = try await scene.run(yaml, environment: ["ATOMD_CRASH_AT": String(point), "ATOMD_CRASH_WHEN": "after"])
            guard crashed.killed else {
                #expect(crashed.status == 3, "crash after write \(point) did not crash, and ended \(crashed.status)")
                continue
            }
            let runID = try await #require(try CompensationPromiseTests.runIDs(scene).first)
            let failureJournaled = try CompensationPromiseTests.journaled(scene, "status", step: "a").contains("revert_failed")
            let resumed = try await AtomdProcess.run(["resume", runID, "--home", scene.home])
            let status = await resumed.status == 2 ? try CompensationPromiseTests.runStatus(scene, runID) : (resumed.status == 3 ? "revert_failed" : "exit \(resumed.status)")
            // A revert interrupted before its failure was journaled is in
            // doubt and runs again; once journaled, its failure is final.
            if failureJournaled {
                finalPoints += 1
                #expect(status == "revert_failed", "\(shape), crash after write \(point): \(resumed.stdout)\(resumed.stderr)")
            } else {
                #expect(status == "revert_failed" || status == "exit 1", "\(shape), crash after write \(point): \(status ?? "?")")
            }
        }
        #expect(finalPoints >= 2, "no crash point came after the failed revert was journaled")
    }

}
