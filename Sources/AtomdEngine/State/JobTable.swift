import AtomdSpec

/// The job's steps by id, with their paths and tree links, computed once per
/// run so that no transition walks the job.
struct JobTable: Sendable {
    struct Node: Sendable {
        var step: Step
        /// Ancestor group ids and the step id, joined by `/`.
        var path: String
        var parent: String?
        var children: [String]
    }

    private(set) var nodes: [String: Node] = [:]
    let main: [String]
    let finally: [String]

    init(_ job: Job) {
        main = job.steps.map(\.id)
        finally = job.finally.map(\.id)
        nodes.reserveCapacity(Self.count(job.steps) + Self.count(job.finally))
        for step in job.steps + job.finally { add(step, parent: nil, prefix: "") }
    }

    private mutating func add(_ step: Step, parent: String?, prefix: String) {
        let path = prefix + step.id
        nodes[step.id] = Node(step: step, path: path, parent: parent, children: step.group?.steps.map(\.id) ?? [])
        for child in step.group?.steps ?? [] { add(child, parent: step.id, prefix: path + "/") }
    }

    private static func count(_ steps: [Step]) -> Int {
        steps.reduce(0) { $0 + 1 + count($1.group?.steps ?? []) }
    }

    subscript(id: String) -> Node? { nodes[id] }

    /// The step and everything inside it.
    func subtree(_ id: String) -> [String] {
        [id] + (nodes[id]?.children.flatMap(subtree) ?? [])
    }

    /// Every atom name the job's actions, reverts, checks and state probes need.
    var requiredAtoms: Set<String> {
        Set(nodes.values.flatMap(\.step.actions).compactMap(\.action.atomName))
    }
}

extension Action {
    /// The registry name of the atom that performs this action; nil for groups.
    public var atomName: String? {
        switch self {
        case .run: "run"
        case .http: "http"
        case .plugin(let plugin): plugin.qualifiedName
        case .group: nil
        }
    }
}
