import AtomdEngine
import AtomdSpec
import Foundation
@testable import AtomdShell
import Glibc
import Testing

/// A supervisor writing logs to a fresh temporary directory.
func makeSupervisor(logCap: Int = 64 << 20) throws -> (ProcessSupervisor, String) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-shell-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    return (ProcessSupervisor(logDirectory: directory, logCap: logCap), directory)
}

func context(step: String = "s", attempt: Int = 1, log: @escaping @Sendable (String) -> Void = { _ in }) -> AtomContext {
    AtomContext(runID: "run-\(UUID().uuidString.prefix(8))", stepPath: step, attempt: attempt,
                idempotencyKey: "key/\(step)/\(attempt)", log: log)
}

/// Whether a process exists and is not a zombie.
func isRunning(_ pid: pid_t) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")")
    else { return false }
    return stat[stat.index(close, offsetBy: 2)] != "Z"
}

/// Reads a pid a script wrote to a file.
func pid(in file: String) throws -> pid_t {
    let text = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    return try #require(pid_t(text), "no pid in \(file): '\(text)'")
}
