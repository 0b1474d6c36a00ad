import Foundation
import Testing

/// Runs the real `atomd` binary built by this package.
enum AtomdProcess {
    struct Result {
        var status: Int32
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

    /// Output goes to files rather than pipes: nothing can stall on a full pipe.
    static func run(_ arguments: [String]) throws -> Result {
        try #require(FileManager.default.isExecutableFile(atPath: binary.path),
                     "no atomd binary at \(binary.path); build it with 'swift build' first")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let stdoutURL = directory.appendingPathComponent("stdout"), stderrURL = directory.appendingPathComponent("stderr")
        try Data().write(to: stdoutURL)
        try Data().write(to: stderrURL)
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = repository
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: try String(contentsOf: stdoutURL, encoding: .utf8),
                      stderr: try String(contentsOf: stderrURL, encoding: .utf8))
    }
}
