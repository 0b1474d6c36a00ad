import AtomdEngine
import AtomdShell
import Foundation
import Subprocess

// Shell step overhead: a supervised step against a bare spawn of /bin/true.
// The supervised step runs `/bin/true` as its shell (`shell: /bin/true`), so
// the difference is the supervisor: private script file, environment, own
// session, two streamed pipes, log file, output file, clean-up. Between the
// two, a spawn with only what the supervisor asks of the library (its own
// session, stdout and stderr streamed as they come, both read to the end)
// shows how much of the difference is the library's streaming alone. A bash
// step is measured too, for scale. The variants alternate call by call, so
// the machine's drift hits them alike; medians are reported.
//
//   swift run -c release shell-benchmark [--count N]

let count = CommandLine.arguments.firstIndex(of: "--count").flatMap { index in
    CommandLine.arguments.dropFirst(index + 1).first.flatMap(Int.init)
} ?? 300

func microseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
}

func timed(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    return microseconds(ContinuousClock.now - start)
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
}

let logs = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-shell-bench-\(getpid())").path
defer { try? FileManager.default.removeItem(atPath: logs) }
let supervisor = ProcessSupervisor(logDirectory: logs)
let context = AtomContext(runID: "bench", stepPath: "s", attempt: 1, idempotencyKey: "bench/s/1")

var session = PlatformOptions()
session.createSession = true

/// Reads a stream to its end, as the supervisor's readers do.
func drain(_ sequence: SubprocessOutputSequence) async {
    do {
        for try await _ in sequence {}
    } catch {}
}

var bare: [Double] = [], streamed: [Double] = [], supervised: [Double] = [], bash: [Double] = []
for _ in 0..<count {
    bare.append(try await timed { _ = try await Subprocess.run(.path("/bin/true"), output: .discarded) })
    streamed.append(try await timed {
        _ = try await Subprocess.run(.path("/bin/true"), platformOptions: session, input: .none, output: .sequence,
                                     error: .sequence) { execution in
            async let out: Void = drain(execution.standardOutput)
            async let err: Void = drain(execution.standardError)
            _ = await (out, err)
        }
    })
    supervised.append(try await timed { _ = try await supervisor.run(ShellCommand(script: "", shell: "/bin/true"), context: context) })
    bash.append(try await timed { _ = try await supervisor.run(ShellCommand(script: "true"), context: context) })
}
print(String(format: "bare spawn of /bin/true           %7.0f µs (median of %d)", median(bare), count))
print(String(format: "own session, two streamed pipes   %7.0f µs  = %.2f× the bare spawn", median(streamed), median(streamed) / median(bare)))
print(String(format: "supervised step, shell /bin/true  %7.0f µs  = %.2f× the bare spawn", median(supervised), median(supervised) / median(bare)))
print(String(format: "supervised bash step `true`       %7.0f µs", median(bash)))
print(String(format: "result: shell.bare_spawn %.1f us", median(bare)))
print(String(format: "result: shell.streamed_spawn %.1f us", median(streamed)))
print(String(format: "result: shell.supervised %.1f us", median(supervised)))
print(String(format: "result: shell.bash_step %.1f us", median(bash)))
