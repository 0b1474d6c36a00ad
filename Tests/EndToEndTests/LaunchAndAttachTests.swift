import AtomdTestSupport
import Foundation
import Testing

/// `etc/jobs/launch-and-attach.yaml` with the real binary against a real FakeCloud.
@Suite struct LaunchAndAttachTests {
    func launch(_ cloud: FakeCloudProcess) async throws -> AtomdProcess.Result {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-home-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: home) }
        return try await AtomdProcess.run(["run", "etc/jobs/launch-and-attach.yaml", "--home", home, "--var", "api=\(cloud.base)"])
    }

    @Test func theSuccessPathLeavesOneServerOneVolumeOneAttachment() async throws {
        let cloud = try await FakeCloudProcess(["--build-delay", "100"])
        let result = try await launch(cloud)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let live = try await cloud.live()
        #expect(live["servers"]?.count == 1 && live["volumes"]?.count == 1 && live["attachments"]?.count == 1)
    }

    @Test func aFailedAttachIsCompensatedToZeroLiveResources() async throws {
        let cloud = try await FakeCloudProcess(["--build-delay", "50"])
        try await cloud.inject(#"{"route": "POST /servers/*/attachments", "status": 500}"#)
        let result = try await launch(cloud)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(try await cloud.live() == ["servers": [], "volumes": [], "attachments": []])
        #expect(try await cloud.creates() == 2)
    }

    /// HTTP steps keep step logs as shell steps do: the request line and
    /// the status with its time, the revert's in a file of its own.
    @Test func httpStepsWriteStepLogsOfTheirRequests() async throws {
        let cloud = try await FakeCloudProcess(["--build-delay", "20"])
        try await cloud.inject(#"{"route": "POST /servers/*/attachments", "status": 500}"#)
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-home-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: home) }
        let result = try await AtomdProcess.run(["run", "etc/jobs/launch-and-attach.yaml", "--home", home, "--var", "api=\(cloud.base)"])
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        let run = try #require(try FileManager.default.contentsOfDirectory(atPath: home + "/logs").first)
        let execute = try String(contentsOfFile: "\(home)/logs/\(run)/server.1.log", encoding: .utf8)
        #expect(execute.contains("log | POST \(cloud.base)/servers") && execute.contains(" in ") && execute.contains("log | 201"), "\(execute)")
        let revert = try String(contentsOfFile: "\(home)/logs/\(run)/server.1.revert.log", encoding: .utf8)
        #expect(revert.contains("log | DELETE \(cloud.base)/servers/"), "\(revert)")
        let logs = try await AtomdProcess.run(["logs", run, "server", "--home", home])
        #expect(logs.stdout.contains("== server (attempt 1) ==") && logs.stdout.contains("== server (revert attempt 1) =="), "\(logs.stdout)")
    }

    @Test func aVolumeQuotaIsCompensatedToZeroLiveResources() async throws {
        let cloud = try await FakeCloudProcess(["--max-volumes", "0"])
        let result = try await launch(cloud)
        #expect(result.status == 1)
        #expect(result.stdout.contains("volume quota of 0 exceeded"))
        #expect(try await cloud.live() == ["servers": [], "volumes": [], "attachments": []])
    }
}
