import AtomdEngine
import AtomdShell
import Foundation
import Subprocess

// Shell step overhead: a supervised step against a bare spawn of /bin/true.
// The supervised step runs `/bin/true` as its shell (`shell: /bin/true`), so
// the difference is the supervisor: private script file, environment, own
// session, two streamed pipes, log file, output file, clean-up. A bash step
// is measured too, for scale. Best of 5 series, mean per spawn.
//
//   swift run -c release shell-benchmark [--count N]

let count = CommandLine.arguments.firstIndex(of: "--count").flatMap { index in
    CommandLine.arguments.dropFirst(index + 1).first.flatMap(Int.init)
} ?? 200

func microseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
}

func best(_ body: () async throws -> Void) async throws -> Double {
    var best = Double.infinity
    for _ in 0..<5 {
        let start = ContinuousClock.now
        for _ in 0..<count { try await body() }
        best = min(best, microseconds(ContinuousClock.now - start) / Double(count))
    }
    return best
}

let logs = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-shell-bench-\(getpid())").path
defer { try? FileManager.default.removeItem(atPath: logs) }
let supervisor = ProcessSupervisor(logDirectory: logs)
let context = AtomContext(runID: "bench", stepPath: "s", attempt: 1, idempotencyKey: "bench/s/1")

let bare = try await best {
    _ = try await Subprocess.run(.path("/bin/true"), output: .discarded)
}
let supervised = try await best {
    _ = try await supervisor.run(ShellCommand(script: "", shell: "/bin/true"), context: context)
}
let bash = try await best {
    _ = try await supervisor.run(ShellCommand(script: "true"), context: context)
}
print(String(format: "bare spawn of /bin/true          %8.0f µs", bare))
print(String(format: "supervised step, shell /bin/true %8.0f µs  (%.2f× the bare spawn)", supervised, supervised / bare))
print(String(format: "supervised bash step `true`      %8.0f µs", bash))
