import Foundation
import Testing

/// The journal's durability counted where it happens: the fsyncs the real
/// `atomd run` makes, traced by strace. `full` must sync every commit
/// before the engine goes on; `normal` may not (DESIGN.md section 5).
@Suite struct DurabilityTests {
    static let steps = 200

    static let job = "version: 1\nname: durable\nsteps:\n"
        + (0..<steps).map { "  - id: s\($0)\n    uses: test.noop\n" }.joined()

    /// fsync and fdatasync calls of one `atomd run` and every thread it has.
    private func syncCalls(_ extra: [String]) throws -> Int {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-sync-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let job = try AtomdProcess.temporaryJob(Self.job)
        let trace = scratch + "/trace"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/strace")
        process.arguments = ["-f", "-qq", "-e", "trace=fsync,fdatasync", "-e", "signal=none", "-o", trace,
                             AtomdProcess.binary.path, "run", job, "--home", scratch + "/home"] + extra
        process.environment = ProcessInfo.processInfo.environment.merging(["ATOMD_TEST_ATOMS": "1"]) { _, new in new }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "atomd run under strace exited \(process.terminationStatus)")
        let lines = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n")
        return lines.filter { $0.contains("fsync(") || $0.contains("fdatasync(") }.count
    }

    @Test(.timeLimit(.minutes(2))) func fullSyncsEveryCommitAndNormalDoesNot() throws {
        let full = try syncCalls(["--journal-sync", "full"])
        let byDefault = try syncCalls([])
        let normal = try syncCalls(["--journal-sync", "normal"])
        // A step is at least one commit (its start; its outcome may share
        // the next step's), each synced under full.
        #expect(full >= Self.steps, "full: \(full) fsyncs for \(Self.steps) steps")
        #expect(byDefault >= Self.steps, "the default: \(byDefault) fsyncs for \(Self.steps) steps")
        #expect(normal < Self.steps / 4, "normal: \(normal) fsyncs; it syncs at checkpoints only")
    }
}
