import AtomdTestSupport
import Foundation
import Testing

/// Issue 34, bugs 1–3 through the real binary and FakeCloud: a create whose
/// answer came too late took effect; the run must neither make a second one
/// nor leave the first behind.
@Suite(.timeLimit(.minutes(2))) struct HTTPInDoubtTests {
    private func run(_ yaml: String, _ cloud: FakeCloudProcess) async throws -> AtomdProcess.Result {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-home-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: home) }
        return try await AtomdProcess.run(["run", try AtomdProcess.temporaryJob(yaml), "--home", home, "--var", "api=\(cloud.base)"])
    }

    /// A step's `http:` that creates a volume, and its `revert:` that
    /// deletes it by the step's output `id`.
    private static func createVolume(timeout: String?) -> String {
        #"http: { method: POST, url: "${{ vars.api }}/volumes", json: { size_gb: 10 }, expect: [201]"#
            + (timeout.map { ", timeout: \($0)" } ?? "") + " }"
    }

    private static let deleteVolume = #"revert: { http: { method: DELETE, url: "${{ vars.api }}/volumes/${{ outputs.id }}", expect: [204, 404] } }"#

    /// The next volume is made but its answer held 1.5 s, past the steps'
    /// 300 ms timeout; the create after it, if `status` is given, refused.
    private static func answerLate(_ cloud: FakeCloudProcess, thenRefuseWith status: Int? = nil) async throws {
        try await cloud.inject(#"{"route": "POST /volumes", "late_ms": 1500, "count": 1}"#)
        if let status { try await cloud.inject(#"{"route": "POST /volumes", "status": \#(status), "count": 1}"#) }
    }

    private static func job(_ steps: String) -> String {
        """
        version: 1
        name: in-doubt
        vars: { api: { type: string } }
        steps:
        \(steps)
        """
    }

    /// Bug 2: the retry goes out under the first attempt's key, so the API
    /// returns the volume the late attempt made: one volume, not two.
    @Test func aLateCreateIsRepeatedUnderItsKeyAndMakesOneVolume() async throws {
        let cloud = try await FakeCloudProcess()
        try await Self.answerLate(cloud)
        let result = try await run(Self.job("""
              - id: volume
                \(Self.createVolume(timeout: "300ms"))
                retry: { attempts: 3, delay: 10ms }
                outputs: { id: "${{ response.json.id }}" }
                \(Self.deleteVolume)
            """), cloud)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(try await cloud.creates() == 1, "a second volume was made")
        #expect(try await cloud.live()["volumes"]?.count == 1)
    }

    /// Found by review: after an attempt in doubt, a definite failure (a
    /// 503) must not give the next attempt a new key, or the API makes a
    /// second volume and compensation undoes only that one.
    @Test func aFailureAfterALateAnswerKeepsTheKeyOfTheAttemptInDoubt() async throws {
        let cloud = try await FakeCloudProcess()
        try await Self.answerLate(cloud, thenRefuseWith: 503)
        let result = try await run(Self.job("""
              - id: volume
                \(Self.createVolume(timeout: "300ms"))
                retry: { attempts: 4, delay: 10ms }
                outputs: { id: "${{ response.json.id }}" }
                \(Self.deleteVolume)
              - id: later
                run: "exit 3"
            """), cloud)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(try await cloud.creates() == 1, "a second volume was made under a new key: \(result.stdout)")
        #expect(try await cloud.live()["volumes"] == [], "a volume was left behind: \(result.stdout)")
    }

    /// Found by review: a crash while the answer was on its way is an
    /// unknown outcome too, so a refusal of the resumed attempt does not
    /// clear the step: the check finds the volume and the revert deletes it.
    @Test func aRefusalAfterACrashMidRequestIsNotChangedNothing() async throws {
        let cloud = try await FakeCloudProcess()
        try await cloud.inject(#"{"route": "POST /volumes", "late_ms": 30000, "count": 1}"#)
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-home-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: home) }
        let job = try AtomdProcess.temporaryJob(Self.job("""
              - id: volume
                idempotent: true
                \(Self.createVolume(timeout: nil))
                outputs: { id: "${{ response.json.id || response.json.live.volumes[0] }}" }
                check:
                  http: { url: "${{ vars.api }}/ledger", present: "response.json.live.volumes[0] != null" }
                \(Self.deleteVolume)
              - id: later
                run: "exit 3"
            """))
        let running = try AtomdProcess.start(["run", job, "--home", home, "--var", "api=\(cloud.base)"])
        let deadline = ContinuousClock.now + .seconds(30)
        while try await cloud.live()["volumes"]?.isEmpty != false, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(running.process.processIdentifier, SIGKILL)
        _ = try await running.finish()
        try await cloud.inject(#"{"route": "POST /volumes", "status": 409, "count": 1}"#)
        let runs = try await AtomdProcess.run(["runs", "--home", home, "--json"])
        let listed = try JSONSerialization.jsonObject(with: Data(runs.stdout.utf8)) as? [[String: Any]]
        let runID = try #require(listed?.first?["id"] as? String, "\(runs.stdout)")
        let resumed = try await AtomdProcess.run(["resume", runID, "--home", home])
        #expect(!resumed.stdout.contains("changed nothing") && resumed.stdout.contains("409"), "\(resumed.stdout)\(resumed.stderr)")
        #expect(try await cloud.live()["volumes"] == [], "the volume made before the crash was left: \(resumed.stdout)")
    }

    /// Bugs 1 and 3: the late create took effect (a retry would be refused
    /// with a 400). Before retrying, the check finds it, so the step is
    /// settled with its output computed from the check's answer; a later
    /// step fails, and the revert deletes the volume by that id.
    @Test func aLateCreateFoundByItsCheckIsUndoneByTheIdItsAnswerGives() async throws {
        let cloud = try await FakeCloudProcess()
        try await Self.answerLate(cloud, thenRefuseWith: 400)
        let result = try await run(Self.job("""
              - id: volume
                \(Self.createVolume(timeout: "300ms"))
                retry: { attempts: 2, delay: 1s }
                outputs: { id: "${{ response.json.id || response.json.live.volumes[0] }}" }
                check:
                  http: { url: "${{ vars.api }}/ledger", present: "response.json.live.volumes[0] != null" }
                \(Self.deleteVolume)
              - id: later
                run: "exit 3"
            """), cloud)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(try await cloud.creates() == 1)
        #expect(try await cloud.live()["volumes"] == [], "the volume the late attempt made was left: \(result.stdout)")
    }
}
