import Foundation
import Testing

/// A real `atomd agent` on a temporary home, and helpers to feed its spool
/// the way producers do.
struct AgentProcess {
    let home: String
    let running: RunningAtomd

    var spool: String { home + "/spool" }
    var log: String { (try? String(contentsOf: running.stderrURL, encoding: .utf8)) ?? "" }

    /// `config`: the text of HOME/atomd.yaml, if any.
    static func start(home: String? = nil, config: String? = nil, environment: [String: String] = [:]) throws -> AgentProcess {
        let home = home ?? FileManager.default.temporaryDirectory.appendingPathComponent("atomd-agent-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        if let config { try config.write(toFile: home + "/atomd.yaml", atomically: true, encoding: .utf8) }
        return AgentProcess(home: home, running: try AtomdProcess.start(["agent", "--home", home], environment: environment))
    }

    /// Waits until the agent's log contains `text` `count` times.
    func waitForLog(_ text: String, count: Int = 1, limit: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + limit
        while log.components(separatedBy: text).count - 1 < count {
            try #require(running.process.isRunning, "the agent exited before logging '\(text)':\n\(log)")
            try #require(ContinuousClock.now < deadline, "no '\(text)' (×\(count)) within \(limit):\n\(log)")
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Waits until `done/` and `failed/` hold `count` job files between them.
    func waitForFiled(_ count: Int, limit: Duration = .seconds(120)) async throws -> (done: [String], failed: [String]) {
        let deadline = ContinuousClock.now + limit
        while true {
            let done = jobs(in: "done"), failed = jobs(in: "failed")
            if done.count + failed.count >= count { return (done, failed) }
            try #require(running.process.isRunning, "the agent exited:\n\(log)")
            try #require(ContinuousClock.now < deadline, "only \(done.count + failed.count) of \(count) filed:\n\(log)")
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func jobs(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: spool + "/" + directory)) ?? [])
            .filter { $0.hasSuffix(".yaml") }.sorted()
    }

    /// Writes `name.tmp` beside incoming/ and renames it in, as producers should.
    func drop(_ name: String, _ yaml: String, mode: mode_t = 0o644) throws {
        let temporary = spool + "/incoming/.\(name).tmp"
        try yaml.write(toFile: temporary, atomically: false, encoding: .utf8)
        chmod(temporary, mode)
        try #require(rename(temporary, spool + "/incoming/" + name) == 0)
    }

    func signal(_ signal: Int32) {
        kill(running.process.processIdentifier, signal)
    }

    /// SIGTERM, then the exit status.
    func stop() -> Int32 {
        signal(SIGTERM)
        return waitForExit()
    }

    /// The exit status, once the agent has exited on its own.
    func waitForExit() -> Int32 {
        running.process.waitUntilExit()
        return running.process.terminationStatus
    }

    func report(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: spool + "/failed/" + name + ".error.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}
