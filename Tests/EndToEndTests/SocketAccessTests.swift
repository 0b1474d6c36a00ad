import AtomdTestSupport
import Foundation
import Testing

/// Issue 32, item 7: a user the socket does not admit is told that an agent
/// is there and what gives access, not that no agent is running.
@Suite struct SocketAccessTests {
    @Test(.timeLimit(.minutes(2))) func aUserTheSocketRefusesIsToldWhatGivesAccess() async throws {
        let outsider = try TestUsers.outsider
        let shared = try TestUsers.reachableDirectory("atomd-access")
        defer { try? FileManager.default.removeItem(atPath: shared) }
        let agent = try AgentProcess.start(config: "api:\n  socket: \(shared)/atomd.sock\n")
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let refused = try await AtomdProcess.run(["runs", "--socket", shared + "/atomd.sock"], account: outsider)
        #expect(refused.status == 2, "\(refused.status) \(refused.stderr)")
        #expect(refused.stderr.contains("may not use it") && refused.stderr.contains("api.group"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("is `atomd agent` running"), "\(refused.stderr)")
        // A socket behind a directory closed to the user.
        try FileManager.default.createDirectory(atPath: shared + "/closed", withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o700])
        let closed = try await AtomdProcess.run(["runs", "--socket", shared + "/closed/atomd.sock"], account: outsider)
        #expect(closed.stderr.contains("may not reach"), "\(closed.stderr)")
        // No agent at all is still said as before.
        let none = try await AtomdProcess.run(["runs", "--socket", shared + "/none.sock"])
        #expect(none.stderr.contains("no agent socket"), "\(none.stderr)")
    }
}
