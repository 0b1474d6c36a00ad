import AtomdEngine
import AtomdSpec
import Synchronization

/// A journal that simulates `kill -9` at its Nth write (one transaction): the write is stored
/// (`after`) or not (`before`), the world freezes as if the process were
/// gone, and every later write fails, so the run winds down without
/// touching anything.
final class CrashingJournal: Journal {
    struct Crashed: Error {}

    private struct Contents {
        var events: [EngineEvent]
        var writes = 0
        var crashed = false
    }

    private let contents: Mutex<Contents>
    private let crashAt: Int?
    private let after: Bool
    private let world: TestWorld

    init(history: [EngineEvent] = [], crashAt: Int?, after: Bool, world: TestWorld) {
        contents = Mutex(Contents(events: history))
        self.crashAt = crashAt
        self.after = after
        self.world = world
    }

    func record(_ events: [EngineEvent]) async throws {
        let crash = contents.withLock { contents -> Bool in
            guard !contents.crashed else { return true }
            contents.writes += 1
            if contents.writes == crashAt {
                contents.crashed = true
                if after { contents.events.append(contentsOf: events) }
                return true
            }
            contents.events.append(contentsOf: events)
            return false
        }
        if crash {
            world.freeze()
            throw Crashed()
        }
    }

    var events: [EngineEvent] { contents.withLock { $0.events } }
    var writes: Int { contents.withLock { $0.writes } }
    var crashed: Bool { contents.withLock { $0.crashed } }
}

/// Runs a job, crashing at the given journal writes one after another: the
/// first crash cuts the run, each later one cuts the resumption of the one
/// before; the last resumption runs to the end.
struct CrashScenario {
    let job: Job
    let world: TestWorld
    var extraAtoms: [any Atom] = []

    struct Outcome {
        var report: RunReport
        /// Journal writes of each part: the cut run, its resumptions.
        var writes: [Int]
        var events: [EngineEvent]
    }

    func engine(_ journal: any Journal) -> Engine {
        var registry = AtomRegistry(TestAtoms.all(world: world))
        for atom in extraAtoms { registry.register(atom) }
        return Engine(registry: registry, journal: journal)
    }

    func run(crashes: [(at: Int, after: Bool)]) async throws -> Outcome {
        let runID = "crash-test"
        var history: [EngineEvent] = []
        var writes: [Int] = []
        for (index, crash) in ([(at: Int?, after: Bool)?](crashes.map { (at: $0.at, after: $0.after) }) + [nil]).enumerated() {
            let journal = CrashingJournal(history: history, crashAt: crash?.at, after: crash?.after ?? false, world: world)
            let request = RunRequest(job: job, runID: runID)
            let handle = index == 0
                ? try engine(journal).start(request)
                : try engine(journal).resume(request, history: history)
            let report = await handle.wait()
            world.thaw()
            writes.append(journal.writes)
            history = journal.events
            let closed = history.contains { $0.kind == .closed }
            if crash == nil || !journal.crashed || closed {
                return Outcome(report: report, writes: writes, events: history)
            }
        }
        preconditionFailure("the loop returns on its last part")
    }
}
