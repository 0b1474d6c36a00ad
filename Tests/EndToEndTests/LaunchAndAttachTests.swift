import AtomdTestSupport
import Foundation
import Testing

/// `etc/jobs/launch-and-attach.yaml` with the real binary against a real FakeCloud.
@Suite struct LaunchAndAttachTests {
    func launch(_ cloud: FakeCloudProcess) throws -> AtomdProcess.Result {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-home-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: home) }
        return try AtomdProcess.run(["run", "etc/jobs/launch-and-attach.yaml", "--home", home, "--var", "api=\(cloud.base)"])
    }

    @Test func theSuccessPathLeavesOneServerOneVolumeOneAttachment() async throws {
        let cloud = try await FakeCloudProcess(["--build-delay", "100"])
        let result = try launch(cloud)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let live = try await cloud.live()
        #expect(live["servers"]?.count == 1 && live["volumes"]?.count == 1 && live["attachments"]?.count == 1)
    }

    @Test func aFailedAttachIsCompensatedToZeroLiveResources() async throws {
        let cloud = try await FakeCloudProcess(["--build-delay", "50"])
        try await cloud.inject(#"{"route": "POST /servers/*/attachments", "status": 500}"#)
        let result = try launch(cloud)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(try await cloud.live() == ["servers": [], "volumes": [], "attachments": []])
        #expect(try await cloud.creates() == 2)
    }

    @Test func aVolumeQuotaIsCompensatedToZeroLiveResources() async throws {
        let cloud = try await FakeCloudProcess(["--max-volumes", "0"])
        let result = try launch(cloud)
        #expect(result.status == 1)
        #expect(result.stdout.contains("volume quota of 0 exceeded"))
        #expect(try await cloud.live() == ["servers": [], "volumes": [], "attachments": []])
    }
}
