import AtomdTestSupport
import Foundation
import Testing

/// `etc/jobs/deploy-app.yaml` for real, in a throw-away directory: the
/// success deploys 2.0; the failing variant rolls back to 1.0, running.
@Suite(.serialized) struct DeployAppTests {
    struct Deployment {
        let root: String

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-deploy-\(UUID().uuidString)").path
        }

        var current: String? { try? FileManager.default.destinationOfSymbolicLink(atPath: root + "/current") }
        var pool: String { (try? String(contentsOfFile: root + "/lb/pool", encoding: .utf8)) ?? "" }
        var appPID: pid_t? { (try? String(contentsOfFile: root + "/run/app.pid", encoding: .utf8)).flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) } }

        /// The version in the heartbeat, once a fresh beat (written after `since`) shows it.
        func heartbeat(after since: Date) async throws -> String {
            let deadline = ContinuousClock.now + .seconds(10)
            // Looked at once more after the deadline: on a loaded machine this
            // task may only be resumed after it, and the beat may be there.
            while true {
                let path = root + "/run/heartbeat"
                if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                   let modified = attributes[.modificationDate] as? Date, modified > since,
                   let text = try? String(contentsOfFile: path, encoding: .utf8),
                   let version = text.split(separator: " ").first {
                    return String(version)
                }
                guard ContinuousClock.now < deadline else { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("no fresh heartbeat in \(root)")
            return ""
        }

        func stop() {
            if let pid = appPID { kill(pid, SIGKILL) }
            try? FileManager.default.removeItem(atPath: root)
        }
    }

    func deploy(_ deployment: Deployment, _ extra: [String] = [], job: String = "deploy-app") async throws -> AtomdProcess.Result {
        let home = deployment.root + "-home"
        if job == "deploy-app-files", !FileManager.default.fileExists(atPath: home + "/plugins") {
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            try FileManager.default.moveItem(atPath: try PluginFixtures.pluginDirectory(["files"]), toPath: home + "/plugins")
        }
        return try await AtomdProcess.run(["run", "etc/jobs/\(job).yaml", "--home", home, "--var", "root=\(deployment.root)"] + extra)
    }

    @Test func aDeploySwitchesToTheNewReleaseAndLeavesItRunning() async throws {
        let deployment = try Deployment()
        defer { deployment.stop() }
        let result = try await deploy(deployment)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(deployment.current == deployment.root + "/releases/2.0")
        #expect(deployment.pool == "web-1\n")
        #expect(try await deployment.heartbeat(after: Date()) == "2.0")
        #expect(FileManager.default.fileExists(atPath: deployment.root + "/dist/web-2.0.tar.gz"))
    }

    @Test func aFailedSmokeTestRollsBackToTheOldReleaseRunning() async throws {
        let deployment = try Deployment()
        defer { deployment.stop() }
        let result = try await deploy(deployment, ["--var", "fail_at=smoke"])
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(deployment.current == deployment.root + "/releases/1.0")
        #expect(deployment.pool == "web-1\n")
        #expect(try await deployment.heartbeat(after: Date()) == "1.0")
        #expect(!FileManager.default.fileExists(atPath: deployment.root + "/releases/2.0"))
        #expect(!FileManager.default.fileExists(atPath: deployment.root + "/dist/web-2.0.tar.gz"))
        for step in ["start-new", "switch", "stop-old", "unpack", "drain", "build"] {
            #expect(result.stdout.contains("  \(step): reverted"), "\(step) not reverted")
        }
        // Exactly one app process is left: the old release, restarted by the revert.
        let apps = try String(contentsOfFile: "/proc/\(deployment.appPID ?? 0)/cmdline", encoding: .utf8)
        #expect(apps.contains("releases/1.0/bin/app"))
    }

    @Test func theFilesPluginVariantDeploysAndRollsBackLikeTheShellOne() async throws {
        let deployment = try Deployment()
        defer { deployment.stop() }
        let failed = try await deploy(deployment, ["--var", "fail_at=smoke"], job: "deploy-app-files")
        #expect(failed.status == 1, "\(failed.stdout)\(failed.stderr)")
        #expect(failed.stdout.contains("  unpack: reverted") && failed.stdout.contains("  switch: reverted"))
        #expect(deployment.current == deployment.root + "/releases/1.0")
        #expect(try await deployment.heartbeat(after: Date()) == "1.0")
        #expect(!FileManager.default.fileExists(atPath: deployment.root + "/releases/2.0"))
        // The reverts took their bookkeeping with them: nothing hidden is left.
        #expect(try FileManager.default.contentsOfDirectory(atPath: deployment.root).filter { $0.hasPrefix(".") } == [])
        #expect(try FileManager.default.contentsOfDirectory(atPath: deployment.root + "/releases") == ["1.0"])

        let deployed = try await deploy(deployment, job: "deploy-app-files")
        #expect(deployed.status == 0, "\(deployed.stdout)\(deployed.stderr)")
        #expect(deployment.current == deployment.root + "/releases/2.0")
        #expect(try await deployment.heartbeat(after: Date()) == "2.0")
        #expect(deployment.pool == "web-1\n")
    }

    @Test func aSecondDeployConvergesOnTheExistingLayout() async throws {
        let deployment = try Deployment()
        defer { deployment.stop() }
        _ = try await deploy(deployment, ["--var", "release=1.5"])
        let again = try await deploy(deployment)
        #expect(again.status == 0)
        #expect(again.stdout.contains("layout skipped: skipped (already present)"))
        #expect(deployment.current == deployment.root + "/releases/2.0")
    }
}
