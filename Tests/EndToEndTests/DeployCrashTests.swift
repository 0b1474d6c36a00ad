import Foundation
import Testing

/// `deploy-app` killed at every journal write: afterwards the new release
/// runs (succeeded) or the old one does (reverted), with exactly one app
/// process and the host back in the pool.
@Suite(.serialized) struct DeployCrashTests {
    /// A fresh throw-away root per case: the job's first step installs 1.0.
    static func root() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("atomd-crash-deploy-\(UUID().uuidString)").path
    }

    @Test func aDeploySurvivesACrashAtEveryWrite() async throws {
        try await CrashRecoveryTests.everyCrash(job: "etc/jobs/deploy-app.yaml", vars: { ["root=\(Self.root())"] },
                                                label: "deploy-app", spread: 1) { outcome, vars, context in
            Self.expectDeployed(outcome, vars, expected: "succeeded", version: "2.0", context)
        }
    }

    @Test func aFailingDeploySurvivesACrashAtEveryWrite() async throws {
        try await CrashRecoveryTests.everyCrash(job: "etc/jobs/deploy-app.yaml", vars: { ["root=\(Self.root())", "fail_at=smoke"] },
                                                label: "deploy-app, failing", spread: 1) { outcome, vars, context in
            Self.expectDeployed(outcome, vars, expected: "reverted", version: "1.0", context)
        }
    }

    /// The release `current` points at runs as the one app process of the
    /// root, and the host is in the pool. Then the root is cleaned away.
    static func expectDeployed(_ outcome: CrashDriver.Outcome, _ vars: [String], expected: String, version: String, _ context: String) {
        guard let root = vars.first(where: { $0.hasPrefix("root=") })?.dropFirst(5).description else { return }
        defer { stopApps(root) }
        guard outcome.runID != nil else { return }
        #expect(outcome.status == expected, "\(outcome.status ?? "-"); \(context)")
        let current = (try? FileManager.default.destinationOfSymbolicLink(atPath: root + "/current")) ?? "-"
        #expect(current == root + "/releases/" + version, "current -> \(current); \(context)")
        let apps = appProcesses(root)
        #expect(apps.count == 1, "app processes \(apps); \(context)")
        let pool = (try? String(contentsOfFile: root + "/lb/pool", encoding: .utf8)) ?? ""
        #expect(pool.split(separator: "\n").contains("web-1"), "pool: \(pool); \(context)")
        let heartbeat = (try? String(contentsOfFile: root + "/run/heartbeat", encoding: .utf8)) ?? ""
        #expect(heartbeat.hasPrefix(version + " "), "heartbeat: \(heartbeat); \(context)")
    }

    /// Live (not zombie) app processes of this root, leaving out the app's
    /// own short-lived subshells (`$(...)`), whose parent is an app too.
    static func appProcesses(_ root: String) -> [pid_t] {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap { pid_t($0) } ?? []
        var parents: [pid_t: pid_t] = [:]
        let apps = pids.filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                  String(decoding: data, as: UTF8.self).contains(root + "/"),
                  String(decoding: data, as: UTF8.self).contains("/bin/app"),
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            parents[pid] = fields.count > 1 ? pid_t(fields[1]) : nil
            return fields.first != "Z"
        }
        return apps.filter { parents[$0].map { !apps.contains($0) } ?? true }
    }

    static func stopApps(_ root: String) {
        for pid in appProcesses(root) { kill(-getpgid(pid), SIGKILL) }
        for pid in appProcesses(root) { kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(atPath: root)
    }
}
