import AtomdTestSupport
import Foundation
import Testing

/// `etc/jobs/ec2-launch-and-attach.yaml`, EC2's own API through the http
/// atom, against moto's EC2 emulator; the cloud is looked at after each run.
@Suite(.timeLimit(.minutes(5))) struct EC2MotoTests {
    static let job = "etc/jobs/ec2-launch-and-attach.yaml"

    static func home() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("atomd-ec2-\(UUID().uuidString)").path
    }

    @Test func theSuccessPathLeavesOneInstanceWithTheVolumeAttached() async throws {
        let moto = try await MotoEC2()
        let home = Self.home()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let result = try await AtomdProcess.run(["run", Self.job, "--home", home, "--var", "endpoint=\(moto.endpoint)"],
                                                environment: MotoEC2.credentials)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let instances = try await moto.liveInstances()
        #expect(instances.count == 1)
        let ours = try await moto.volumeKeys()
        #expect(ours.count == 1 && ours.allSatisfy { $0.hasSuffix("/volume/1") }, "\(ours)")
        let attached = try MotoEC2.select(try await moto.call("DescribeVolumes", ["Filter.1.Name": "tag-key", "Filter.1.Value.1": "atomd-key"]),
                                          "//ns:attachmentSet/ns:item/ns:instanceId")
        #expect(attached == instances, "the volume is attached to the instance the run launched")
    }

    /// A failure at every step, after it and in its place: compensation
    /// leaves no instance running and no volume, seen from EC2's side.
    @Test func aRehearsalAtEveryStepLeavesNothingInTheCloud() async throws {
        let moto = try await MotoEC2()
        let home = Self.home()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let result = try await AtomdProcess.run(["rehearse", Self.job, "--home", home, "--var", "endpoint=\(moto.endpoint)", "--yes", "--json"],
                                                environment: MotoEC2.credentials)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let rows = RehearseCommandTests.rows(try RehearseCommandTests.summary(result))
        #expect(rows.count == 10, "every step, after it and in its place")
        for row in rows {
            #expect((row["left_behind"] as? [String])?.isEmpty == true && (row["unknown"] as? [String])?.isEmpty == true,
                    "every check can tell: \(row)")
        }
        #expect(try await moto.liveInstances() == [], "\(result.stdout)")
        #expect(try await moto.volumeKeys() == [], "\(result.stdout)")
        #expect(try await moto.volumes() == [], "a root volume of a terminated instance was left: \(result.stdout)")
    }
}
