import AtomdEngine
import AtomdSpec
import Foundation

// Engine cost per step with `test.noop` atoms: linear jobs of growing length
// (the per-step cost must not grow), a parallel group of 10×width and a
// width×width graph. Journal off, and with the in-memory journal (the
// durable journal has its own benchmark). Best of `--runs` (default 5).
// Prints `result: NAME VALUE UNIT` lines for Benchmarks/run.
//
//   swift run -c release engine-benchmark [--runs N] [--steps 10,100,1000,10000] [--width 100]

func option(_ name: String) -> String? {
    CommandLine.arguments.firstIndex(of: name).flatMap { CommandLine.arguments.dropFirst($0 + 1).first }
}

let runs = option("--runs").flatMap(Int.init) ?? 5
let lengths = option("--steps").map { $0.split(separator: ",").compactMap { Int($0) } } ?? [10, 100, 1_000, 10_000]
let width = option("--width").flatMap(Int.init) ?? 100

func noop(_ id: String, needs: [String] = []) -> Step {
    Step(id: id, action: .plugin(PluginAction(plugin: "test", atom: "noop", with: .object([:]))),
         needs: needs.map { StepReference(id: $0, location: .start) })
}

func linear(_ count: Int) -> Job {
    Job(file: "bench", name: "linear-\(count)", steps: (0..<count).map { noop("s\($0)") })
}

func parallel(_ count: Int) -> Job {
    let group = Group(mode: .parallel, steps: (0..<count).map { noop("p\($0)") })
    return Job(file: "bench", name: "parallel-\(count)", steps: [Step(id: "g", action: .group(group))])
}

/// `levels` levels of `width` steps; each needs the step above it and the one above-right.
func graph(levels: Int, width: Int) -> Job {
    var steps: [Step] = []
    for level in 0..<levels {
        for column in 0..<width {
            let needs = level == 0 ? [] : ["n\(level - 1)-\(column)", "n\(level - 1)-\((column + 1) % width)"]
            steps.append(noop("n\(level)-\(column)", needs: needs))
        }
    }
    let group = Group(mode: .graph, steps: steps)
    return Job(file: "bench", name: "graph-\(levels)x\(width)", steps: [Step(id: "g", action: .group(group))])
}

func measure(_ job: Job, steps: Int, journal: Bool) async -> Double {
    var best = Double.infinity
    for _ in 0..<runs {
        let engine = Engine(registry: AtomRegistry(TestAtoms.all()), journal: journal ? InMemoryJournal() : nil)
        let clock = ContinuousClock()
        let start = clock.now
        guard let handle = try? engine.start(RunRequest(job: job)) else { return .nan }
        let report = await handle.wait()
        let elapsed = clock.now - start
        guard report.status == .succeeded else {
            print("\(job.name): run ended \(report.status)")
            return .nan
        }
        best = min(best, Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
    }
    return best / Double(steps)
}

let scenarios: [(String, String, Job, Int)] = lengths.map { ("linear \($0)", "linear.\($0)", linear($0), $0) } + [
    ("parallel group of \(width * 10)", "parallel.\(width * 10)", parallel(width * 10), width * 10 + 1),
    ("graph \(width)×\(width)", "graph.\(width)x\(width)", graph(levels: width, width: width), width * width + 1),
]

print("scenario                   µs/step (journal off)   µs/step (in-memory journal)")
for (name, key, job, steps) in scenarios {
    let off = await measure(job, steps: steps, journal: false)
    let on = await measure(job, steps: steps, journal: true)
    print(name.padding(toLength: 26, withPad: " ", startingAt: 0)
          + String(format: " %10.1f %26.1f", off, on))
    print(String(format: "result: engine.off.%@ %.2f us/step", key, off))
    print(String(format: "result: engine.memory.%@ %.2f us/step", key, on))
}
