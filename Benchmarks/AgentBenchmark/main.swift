import AtomdEngine
import AtomdJournal
import Foundation

// The agent from the outside, with the real binary on a fresh home:
//  1. latency from a job file renamed into incoming/ to its first step
//     starting (the step's `running` transition in the journal), one job at
//     a time so that nothing queues: p50, p99;
//  2. throughput: 1,000 small jobs dropped at once, until all are filed;
//  3. resident memory of the idle agent, before and after.
//
//   swift build -c release
//   swift run -c release agent-benchmark [--latency N] [--jobs N] [--max-runs N]

func option(_ name: String) -> String? {
    CommandLine.arguments.firstIndex(of: name).flatMap { CommandLine.arguments.dropFirst($0 + 1).first }
}

let latencyCount = option("--latency").flatMap(Int.init) ?? 200
let jobCount = option("--jobs").flatMap(Int.init) ?? 1000
let maxRuns = option("--max-runs").flatMap(Int.init) ?? 8
let atomd = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    .appendingPathComponent("atomd").path
guard FileManager.default.isExecutableFile(atPath: atomd) else {
    print("no \(atomd): run 'swift build -c release' first")
    exit(2)
}

let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-agent-bench-\(getpid())").path
try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
try "agent: { max_runs: \(maxRuns) }\n".write(toFile: home + "/atomd.yaml", atomically: true, encoding: .utf8)
let agent = Process()
agent.executableURL = URL(fileURLWithPath: atomd)
agent.arguments = ["agent", "--home", home]
agent.environment = ProcessInfo.processInfo.environment.merging(["ATOMD_TEST_ATOMS": "1"]) { _, new in new }
agent.standardError = FileHandle(forWritingAtPath: "/dev/null")
try agent.run()
defer { agent.terminate() }

let incoming = home + "/spool/incoming", done = home + "/spool/done"
func filed() -> Int { ((try? FileManager.default.contentsOfDirectory(atPath: done)) ?? []).count }
func waitFor(_ condition: () -> Bool) {
    while !condition() { usleep(200) }
}
/// VmRSS and RssAnon in KiB: all resident pages, and those private to the
/// agent (the rest is shared library and binary code, shared and reclaimable).
func rss() -> (all: Int, own: Int) {
    let status = (try? String(contentsOfFile: "/proc/\(agent.processIdentifier)/status", encoding: .utf8)) ?? ""
    func field(_ name: String) -> Int {
        let line = status.split(separator: "\n").first { $0.hasPrefix(name) } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
    return (field("VmRSS:"), field("RssAnon:"))
}
let job = "version: 1\nname: bench\nsteps:\n  - { id: first, uses: test.noop }\n  - { id: second, uses: test.noop }\n"
func drop(_ name: String) -> Date {
    let aside = incoming + "/." + name
    FileManager.default.createFile(atPath: aside, contents: Data(job.utf8), attributes: [.posixPermissions: 0o644])
    let now = Date()
    rename(aside, incoming + "/" + name)
    return now
}

waitFor { FileManager.default.fileExists(atPath: home + "/atomd.sock") }
usleep(300_000)
let idleBefore = rss()

// 1. Latency, one job at a time.
var dropped: [String: Date] = [:]
for index in 0..<latencyCount {
    let name = "latency-\(index).yaml"
    dropped[name] = drop(name)
    waitFor { filed() == index + 1 }
}
let journal = try DurableJournal(path: home + "/journal.sqlite")
var latencies: [Double] = []
for run in try journal.runs(limit: latencyCount) {
    let name = (run.jobFile as NSString).lastPathComponent
    guard let start = dropped[name],
          let first = try journal.events(of: run.id).first(where: { $0.stepID == "first" && $0.kind == .step(.running) }) else { continue }
    latencies.append(first.time.timeIntervalSince(start) * 1000)
}
let sorted = latencies.sorted()
func percentile(_ p: Double) -> Double { sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }

// 2. Throughput.
let start = ContinuousClock.now
for index in 0..<jobCount { _ = drop("bulk-\(index).yaml") }
waitFor { filed() == latencyCount + jobCount }
let seconds = (ContinuousClock.now - start) / .seconds(1)
usleep(500_000)
let idleAfter = rss()

print("agent, journal synchronous=FULL, max_runs \(maxRuns), \(ProcessInfo.processInfo.activeProcessorCount) cores")
print(String(format: "spool -> first step: p50 %.1f ms, p99 %.1f ms (%d jobs, one at a time)", percentile(0.5), percentile(0.99), sorted.count))
print(String(format: "throughput: %d two-step jobs in %.2f s = %.0f jobs/s", jobCount, seconds, Double(jobCount) / seconds))
print(String(format: "idle RSS: %.1f MiB at start (%.1f MiB private), %.1f MiB after %d jobs (%.1f MiB private)",
             Double(idleBefore.all) / 1024, Double(idleBefore.own) / 1024, Double(idleAfter.all) / 1024, latencyCount + jobCount,
             Double(idleAfter.own) / 1024))
print(String(format: "result: agent.spool_to_start.p50 %.2f ms", percentile(0.5)))
print(String(format: "result: agent.spool_to_start.p99 %.2f ms", percentile(0.99)))
print(String(format: "result: agent.jobs_per_second %.0f jobs/s", Double(jobCount) / seconds))
print(String(format: "result: agent.idle_rss %.1f MiB", Double(idleBefore.all) / 1024))
print(String(format: "result: agent.idle_rss_after_jobs %.1f MiB", Double(idleAfter.all) / 1024))
try? FileManager.default.removeItem(atPath: home)
