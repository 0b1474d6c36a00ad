import AtomdTestSupport
import Foundation
import Testing

/// Issue 32, item 6: the README's agent example works as pasted, and an
/// agent without test atoms refuses a job that needs them when it is
/// submitted, not after it said "submitted".
@Suite struct ReadmeAgentExampleTests {
    /// The environment the README's `atomd agent` line sets, and the job it submits.
    static func example() throws -> (environment: [String: String], job: String) {
        let readme = try String(contentsOf: AtomdProcess.repository.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.range(of: "## Running the agent")).upperBound
        let lines = readme[section...].split(separator: "\n").prefix(12)
        let agent = try #require(lines.first { $0.hasPrefix("$ ") && $0.contains("atomd agent") })
        let environment = agent.dropFirst(2).split(separator: " ").prefix { $0.contains("=") }
            .reduce(into: [String: String]()) { found, word in
                let parts = word.split(separator: "=", maxSplits: 1)
                found[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
            }
        let submit = try #require(lines.first { $0.hasPrefix("$ atomd submit ") })
        let job = try #require(submit.split(separator: " ").dropFirst(3).first.map(String.init))
        return (environment, job)
    }

    @Test(.timeLimit(.minutes(2))) func theREADMEsAgentExampleWorksAsPasted() async throws {
        let (environment, job) = try Self.example()
        // Exactly the README's environment: the test atoms only if it sets them.
        let agent = try AgentProcess.start(environment: ["ATOMD_TEST_ATOMS": environment["ATOMD_TEST_ATOMS"] ?? "0"])
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let submitted = try await AtomdProcess.run(["submit", job, "--home", agent.home])
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let filed = try await agent.waitForFiled(1)
        #expect(filed.done == [URL(fileURLWithPath: job).lastPathComponent], "\(filed)")
    }

    @Test(.timeLimit(.minutes(2))) func anAgentWithoutTestAtomsRefusesThemAtSubmission() async throws {
        let agent = try AgentProcess.start(environment: ["ATOMD_TEST_ATOMS": "0"])
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let refused = try await AtomdProcess.run(["submit", "etc/jobs/compensation-demo.yaml", "--home", agent.home])
        #expect(refused.status == 2 && refused.stderr.contains("test atoms") && refused.stderr.contains("ATOMD_TEST_ATOMS=1"),
                "\(refused.status) \(refused.stderr)")
        #expect(agent.jobs(in: "failed").isEmpty && agent.jobs(in: "incoming").isEmpty)
    }
}
