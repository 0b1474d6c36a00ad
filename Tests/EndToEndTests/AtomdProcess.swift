import AtomdTestSupport
import Foundation
import Testing

/// Runs the real `atomd` binary built by this package.
enum AtomdProcess {
    struct Result {
        var status: Int32
        /// Ended by SIGKILL (the crash hook, or a test's kill).
        var killed = false
        var stdout: String
        var stderr: String
    }

    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `ATOMD_BIN`, or `atomd` beside the test bundle in the build directory.
    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["ATOMD_BIN"] { return URL(fileURLWithPath: path) }
        let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return bundle.deletingLastPathComponent().appendingPathComponent("atomd")
    }

    /// Writes a job file into a fresh temporary directory and returns its path.
    static func temporaryJob(_ yaml: String, name: String = "job.yaml") throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-job-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent(name)
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    /// Runs atomd to the end. Output goes to files rather than pipes, so
    /// nothing can stall on a full pipe.
    /// `asUser`: run as that uid (and gid), through setpriv.
    static func run(_ arguments: [String], environment: [String: String] = [:], asUser: uid_t? = nil,
                    account: TestUsers.Account? = nil) async throws -> Result {
        try #require(FileManager.default.isExecutableFile(atPath: binary.path),
                     "no atomd binary at \(binary.path); build it with 'swift build' first")
        return try await start(arguments, environment: environment, asUser: asUser, account: account).finish()
    }
}

/// A running `atomd`, for tests that must act while it runs.
struct RunningAtomd {
    let process: Process
    let stdoutURL: URL
    let stderrURL: URL

    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }

    /// Waits until the output shows an event, at most `limit`.
    func waitForOutput(containing text: String, limit: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + limit
        while !stdout.contains(text) {
            try #require(process.isRunning, "atomd exited before printing '\(text)': \(stdout)")
            try #require(ContinuousClock.now < deadline, "no '\(text)' within \(limit): \(stdout)")
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// `finish()` once it has exited on its own, at most `limit`; after
    /// that it is killed and the test fails (a blocked wait would outlive
    /// the suite's time limit).
    func finish(within limit: Duration) async throws -> AtomdProcess.Result {
        let deadline = ContinuousClock.now + limit
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                kill(process.processIdentifier, SIGKILL)
                Issue.record("atomd did not exit within \(limit): \(stdout)")
                break
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        return try await finish()
    }

    func finish() async throws -> AtomdProcess.Result {
        await process.exited()
        let result = AtomdProcess.Result(
            status: process.terminationStatus,
            killed: process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL, stdout: stdout,
            stderr: (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "")
        try? FileManager.default.removeItem(at: stdoutURL.deletingLastPathComponent())
        return result
    }
}

extension AtomdProcess {
    /// `environment`: added to this process's environment.
    /// `account`: run as that account, with its groups.
    static func start(_ arguments: [String], environment: [String: String] = [:], asUser: uid_t? = nil,
                      account: TestUsers.Account? = nil) throws -> RunningAtomd {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let stdoutURL = directory.appendingPathComponent("stdout"), stderrURL = directory.appendingPathComponent("stderr")
        try Data().write(to: stdoutURL)
        try Data().write(to: stderrURL)
        let process = Process()
        if let account {
            process.executableURL = URL(fileURLWithPath: account.setpriv[0])
            process.arguments = Array(account.setpriv.dropFirst()) + [binary.path] + arguments
        } else if let asUser {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=\(asUser)", "--regid=\(asUser)", "--clear-groups", binary.path] + arguments
        } else {
            process.executableURL = binary
            process.arguments = arguments
        }
        // The jobs of these tests use the test atoms, which only a test enables.
        process.environment = ProcessInfo.processInfo.environment.merging(["ATOMD_TEST_ATOMS": "1"].merging(environment) { _, new in new }) { _, new in new }
        process.currentDirectoryURL = repository
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return RunningAtomd(process: process, stdoutURL: stdoutURL, stderrURL: stderrURL)
    }
}

extension AtomdProcess {
    /// Runs `/bin/sh -c command` as `account`; its exit status.
    static func shell(_ command: String, as account: TestUsers.Account) async throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: account.setpriv[0])
        process.arguments = Array(account.setpriv.dropFirst()) + ["/bin/sh", "-c", command]
        process.standardInput = FileHandle.nullDevice
        try process.run()
        await process.exited()
        return process.terminationStatus
    }

    /// Starts atomd, sends SIGINT once the output shows `text`, and waits for it to end.
    static func interrupt(_ arguments: [String], once text: String) async throws -> Result {
        let run = try start(arguments)
        try await run.waitForOutput(containing: text)
        run.process.interrupt()
        return try await run.finish()
    }
}
