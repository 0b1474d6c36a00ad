import AtomdEngine
import AtomdSpec
import Synchronization
import Testing

typealias SourceLocation = AtomdSpec.SourceLocation

/// Collects every event a run publishes.
final class EventLog: EventListener {
    private let storage = Mutex<[EngineEvent]>([])

    func receive(_ event: EngineEvent) {
        storage.withLock { $0.append(event) }
    }

    var events: [EngineEvent] { storage.withLock { $0 } }

    /// The step states each step went through, in order.
    func states(of step: String) -> [StepStatus] {
        events.compactMap { event in
            guard event.stepID == step, case .step(let status) = event.kind else { return nil }
            return status
        }
    }

    var runStates: [RunStatus] {
        events.compactMap { if case .run(let status) = $0.kind { status } else { nil } }
    }

    func notes(of step: String) -> [String] {
        events.compactMap { event in
            guard event.stepID == step, case .note(let text) = event.kind else { return nil }
            return text
        }
    }
}

/// A job run with test atoms and an in-memory journal.
struct Harness {
    let world = TestWorld()
    let log = EventLog()
    let journal = InMemoryJournal()
    var extraAtoms: [any Atom] = []

    func engine() -> Engine {
        var registry = AtomRegistry(TestAtoms.all(world: world))
        for atom in extraAtoms { registry.register(atom) }
        return Engine(registry: registry, journal: journal, listeners: [log])
    }

    func start(_ yaml: String, vars: [String: JSONValue] = [:], secrets: [String: String] = [:],
               injected: InjectedFailure? = nil) throws -> RunHandle {
        let job = try JobLoader.load(bytes: Array(yaml.utf8), file: "test.yaml")
        return try engine().start(RunRequest(job: job, vars: vars, secrets: secrets, injectedFailure: injected))
    }

    func run(_ yaml: String, vars: [String: JSONValue] = [:], secrets: [String: String] = [:],
             injected: InjectedFailure? = nil) async throws -> RunReport {
        try await start(yaml, vars: vars, secrets: secrets, injected: injected).wait()
    }

    /// Steps whose flags were cleared, in order.
    var cleared: [String] {
        world.log.compactMap { if case .clear(let flag, _) = $0 { flag } else { nil } }
    }

    var set: [String] {
        world.log.compactMap { if case .set(let flag, _) = $0 { flag } else { nil } }
    }
}

/// `version: 1`, a name, and the given steps.
func job(_ steps: String, head: String = "") -> String {
    "version: 1\nname: t\n\(head)steps:\n\(steps)"
}

/// A `test.world` step setting flag `id`, with optional extra `with:` fields.
func world(_ id: String, _ extra: String = "", indent: Int = 2, fields: String = "") -> String {
    let pad = String(repeating: " ", count: indent)
    return "\(pad)- id: \(id)\n\(pad)  uses: test.world\n\(pad)  with: { flag: \(id)\(extra.isEmpty ? "" : ", \(extra)") }\n"
        + fields.split(separator: "\n").map { "\(pad)  \($0)\n" }.joined()
}

extension RunReport {
    func step(_ id: String) -> StepRecord? { steps.first { $0.id == id } }
}
