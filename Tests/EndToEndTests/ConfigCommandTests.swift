import Foundation
import Testing

/// `atomd config check`: what the agent would read, checked before a reload.
@Suite struct ConfigCommandTests {
    @Test func aValidFileShowsTheSettingsTheAgentWouldUse() async throws {
        let file = try AtomdProcess.temporaryJob("agent:\n  max_runs: 8\n  stop_timeout: 90s\napi:\n  run_as: [deploy]\n", name: "atomd.yaml")
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-config-\(UUID().uuidString)").path
        let result = try await AtomdProcess.run(["config", "check", file, "--home", home, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let checked = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(checked["max_runs"] as? Int == 8 && checked["stop_timeout_seconds"] as? Int == 90)
        let runAs = checked["run_as"] as? [String: Any]
        #expect(runAs?["users"] as? [String] == ["deploy"] && runAs?["groups"] as? [String] == [], "\(checked)")
        #expect(checked["spool"] as? String == home + "/spool", "relative paths are made absolute against --home")
        #expect(!FileManager.default.fileExists(atPath: home), "a check creates nothing")
    }

    @Test func everyProblemIsReportedWithItsPositionAndNothingIsCreated() async throws {
        let cases: [(String, [String])] = [
            ("agent:\n  max_runs: -3\n  bogus: 1\n", [":2:13: error: 'agent.max_runs' must be between 1 and 1024", ":3:3: error: unknown key 'bogus'"]),
            ("api:\n  group: atomd-no-such-group\n", ["api.group: there is no group 'atomd-no-such-group'"]),
            ("agent: [1, 2\n", [":1:"]),
            ("api:\n  run_as: deploy\n", [":2:11: error: 'api.run_as' must be a list of names"]),
            ("api:\n  run_as: { users: [deploy], secrets: [etc/secrets, /a/../b] }\n", ["'api.run_as.secrets' lists absolute directories without '..', not 'etc/secrets'", "not '/a/../b'"]),
            ("api:\n  run_as: { users: [\"de ploy\"], group: [x] }\n", ["'de ploy' is not valid", "unknown key 'group'"]),
            ("api:\n  admins: { users: [atomd-no-such-user] }\n", ["api.admins: there is no user 'atomd-no-such-user'"]),
            (String(repeating: "x", count: 2 << 20), ["limited to"]),
            ("\u{0}\u{1}\u{FFFE}", ["error:"]),
        ]
        for (text, says) in cases {
            let file = try AtomdProcess.temporaryJob(text, name: "atomd.yaml")
            let result = try await AtomdProcess.run(["config", "check", file])
            #expect(result.status == 2, "\(text.prefix(30)): \(result.stdout)")
            for part in says { #expect(result.stderr.contains(part), "\(text.prefix(30)): \(result.stderr)") }
        }
        let missing = try await AtomdProcess.run(["config", "check", "/nonexistent/atomd.yaml"])
        #expect(missing.status == 2 && missing.stderr.contains("cannot open the file"))
    }
}
