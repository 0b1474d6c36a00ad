import AtomdTestSupport
import Foundation
import Testing

/// `etc/jobs/ec2-launch-and-attach.yaml` against moto, killed with SIGKILL
/// at every journal write and resumed: never two instances for one run,
/// never a volume left, seen from EC2's side.
@Suite(.serialized, .timeLimit(.minutes(10))) struct EC2CrashTests {
    static let job = "etc/jobs/ec2-launch-and-attach.yaml"

    /// The success path: each run that ends succeeded has exactly one live
    /// instance and one volume of its own; one that never got recorded has none.
    @Test func everyCrashEndsWithOneInstanceAndOneVolume() async throws {
        let moto = try await MotoEC2()
        let endpoint = moto.endpoint
        try await CrashRecoveryTests.everyCrash(job: Self.job, vars: { ["endpoint=\(endpoint)"] }, environment: MotoEC2.credentials,
                                                label: "ec2-launch-and-attach", spread: 1) { outcome, _, context in
            #expect(outcome.status == nil || outcome.status == "succeeded", "\(outcome.status ?? "-"); \(context)")
            guard let runID = outcome.runID else { return }
            let instances = try await moto.liveInstanceKeys().filter { $0.hasPrefix(runID + "/") }
            let volumes = try await moto.volumeKeys().filter { $0.hasPrefix(runID + "/") }
            let expected = outcome.status == "succeeded" ? 1 : 0
            #expect(instances.count == expected && volumes.count == expected, "\(instances) \(volumes); \(context)")
        }
    }

    /// Compensation: a failure injected at every step, each rehearsal killed
    /// at every journal write and finished from the journal: nothing is left
    /// in the cloud, whatever the checks say.
    @Test func aCrashAtEveryWriteOfEveryRehearsalLeavesNothing() async throws {
        let moto = try await MotoEC2()
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-ec2-crash-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: home) }
        let result = try await AtomdProcess.run(["rehearse", Self.job, "--home", home, "--var", "endpoint=\(moto.endpoint)",
                                                 "--crash", "--yes"], environment: MotoEC2.credentials)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("after attach          ok, "), "\(result.stdout)")
        #expect(try await moto.liveInstances() == [], "\(result.stdout)")
        #expect(try await moto.volumes() == [], "\(result.stdout)")
    }
}
