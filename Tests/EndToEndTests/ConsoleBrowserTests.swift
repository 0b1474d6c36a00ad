import Foundation
import Testing

/// The console in a real browser (Tests/Console/browser_test.py): headless
/// Chromium through Selenium drives a real agent. It signs in through a
/// one-time link, lets a page on another loopback port try to use the
/// session (it gets nothing, steers nothing), watches a job run live to
/// success and one compensate,
/// pauses and resumes one, rolls one back, and saves a screenshot of each
/// into .build/console-screenshots/.
@Suite struct ConsoleBrowserTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test(.timeLimit(.minutes(10))) func theConsoleInChromium() async throws {
        let python = Self.root + "/.build-venv/bin/python"
        try #require(FileManager.default.isExecutableFile(atPath: python), "no \(python): run scripts/setup")
        let agent = try AgentProcess.start(config: "api:\n  listen: 127.0.0.1:0\n")
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        try FileManager.default.createDirectory(atPath: agent.home + "/plugins", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: AtomdProcess.binary.deletingLastPathComponent().path + "/libfiles.so",
                                         toPath: agent.home + "/plugins/files.so")
        let (link, _) = try await ConsoleSecurityTests.link(agent)
        let work = agent.home + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let shots = Self.root + "/.build/console-screenshots"
        try? FileManager.default.removeItem(atPath: shots)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [Self.root + "/Tests/Console/browser_test.py", "--atomd", AtomdProcess.binary.path, "--home", agent.home,
                             "--link", link, "--work", work, "--shots", shots,
                             "--chromium", "/usr/bin/chromium", "--chromedriver", "/usr/bin/chromedriver"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let finished = AsyncStream<Void> { continuation in
            process.terminationHandler = { _ in continuation.finish() }
        }
        try process.run()
        let text = Task.detached { String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }
        for await _ in finished {}
        let printed = await text.value
        #expect(process.terminationStatus == 0, "the browser test failed:\n\(printed)\nagent log:\n\(agent.log)")
        for name in ["01-run-live", "02-run-succeeded", "03-step-logs", "04-compensating", "05-reverted", "06-paused",
                     "07-rollback-targets", "08-rolled-back", "09-plugins", "10-health", "11-runs-filtered", "12-run-on-a-phone", "13-another-port"] {
            let size = (try? FileManager.default.attributesOfItem(atPath: "\(shots)/\(name).png")[.size] as? Int) ?? 0
            #expect(size > 1000, "no screenshot \(name).png")
        }
    }
}
