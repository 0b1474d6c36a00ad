import AtomdEngine
import AtomdPlugins
import AtomdSpec
import Foundation

// Per-call overhead of a plugin atom, isolated (a plugin host process,
// frames on pipes) against in-process (dlopen into this process), with the
// test plugin `trouble` built by this package. The two modes alternate call
// by call; medians and 99th percentiles are reported. Also: the cost of a
// cold start (load, start a host, first call).
//
//   swift build -c release        # atomd (the plugin host) and libtrouble.so
//   swift run -c release plugin-benchmark [--count N]

func option(_ name: String) -> String? {
    CommandLine.arguments.firstIndex(of: name).flatMap { CommandLine.arguments.dropFirst($0 + 1).first }
}

let count = option("--count").flatMap(Int.init) ?? 5000
let build = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
let atomd = build.appendingPathComponent("atomd").path
let library = build.appendingPathComponent("libtrouble.so").path
guard FileManager.default.isExecutableFile(atPath: atomd), FileManager.default.fileExists(atPath: library) else {
    print("no \(atomd) or \(library): run 'swift build -c release' first")
    exit(2)
}

// A private plugin directory: the safety checks want one only we can write.
let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-plugin-bench-\(getpid())").path
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
defer { try? FileManager.default.removeItem(atPath: directory) }
try? FileManager.default.removeItem(atPath: directory + "/libtrouble.so")
try FileManager.default.copyItem(atPath: library, toPath: directory + "/libtrouble.so")
chmod(directory + "/libtrouble.so", 0o755)

func catalog(inProcess: Bool) -> PluginCatalog {
    PluginCatalog(settings: PluginSettings(directories: [directory], inProcess: inProcess ? ["trouble"] : [], hostExecutable: atomd))
}

func atom(_ name: String, in catalog: PluginCatalog) async throws -> any Atom {
    guard let found = try await catalog.atoms(forPlugins: ["trouble"]).first(where: { $0.name == name }) else {
        throw AtomError("no \(name)")
    }
    return found
}

func microseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
}

func percentile(_ values: [Double], _ fraction: Double) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
}

let context = AtomContext(runID: "bench", stepPath: "call", attempt: 1, idempotencyKey: "bench/call/1")
let isolated = catalog(inProcess: false), inProcess = catalog(inProcess: true)

/// Times `count` calls of `name` with `input` in both modes, alternating.
func compare(_ name: String, _ input: JSONValue, label: String, key: String) async throws {
    let viaHost = try await atom(name, in: isolated), direct = try await atom(name, in: inProcess)
    for _ in 0..<100 {
        _ = try await viaHost.execute(input, context: context)
        _ = try await direct.execute(input, context: context)
    }
    var hostTimes: [Double] = [], directTimes: [Double] = []
    for _ in 0..<count {
        var start = ContinuousClock.now
        _ = try await viaHost.execute(input, context: context)
        hostTimes.append(microseconds(ContinuousClock.now - start))
        start = ContinuousClock.now
        _ = try await direct.execute(input, context: context)
        directTimes.append(microseconds(ContinuousClock.now - start))
    }
    print(String(format: "%@  isolated %7.1f µs (p99 %7.1f)   in-process %6.1f µs (p99 %6.1f)   %4.0f×",
                 label, percentile(hostTimes, 0.5), percentile(hostTimes, 0.99),
                 percentile(directTimes, 0.5), percentile(directTimes, 0.99),
                 percentile(hostTimes, 0.5) / percentile(directTimes, 0.5)))
    print(String(format: "result: plugin.%@.isolated %.1f us", key, percentile(hostTimes, 0.5)))
    print(String(format: "result: plugin.%@.in_process %.1f us", key, percentile(directTimes, 0.5)))
}

print("per call, medians of \(count) alternating calls:")
try await compare("trouble.noop", .object([:]), label: "trouble.noop, empty input     ", key: "noop")
let kilobytes = String(repeating: "x", count: 64 * 1024)
try await compare("trouble.echo", .object(["data": .string(kilobytes)]), label: "trouble.echo, 64 KiB in & out ", key: "echo_64k")

var cold: [Double] = []
for _ in 0..<20 {
    let start = ContinuousClock.now
    let fresh = catalog(inProcess: false)
    _ = try await atom("trouble.noop", in: fresh).execute(.object([:]), context: context)
    cold.append(microseconds(ContinuousClock.now - start))
    fresh.shutDown()
}
print(String(format: "cold start (checks, host launch, handshake, first call): %.1f ms median of 20", percentile(cold, 0.5) / 1000))
print(String(format: "result: plugin.cold_start %.2f ms", percentile(cold, 0.5) / 1000))
isolated.shutDown()
inProcess.shutDown()
