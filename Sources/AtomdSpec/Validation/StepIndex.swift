/// Where each step sits in the job: its container, its position there and
/// its ancestors. Built once; answers "could step A have finished before
/// step B starts?" in O(depth), so validation stays linear in job size.
struct StepIndex {
    enum Section: Hashable { case main, finally }

    struct Entry {
        var step: Step
        var section: Section
        /// Group steps from the outermost down to the direct parent.
        var ancestors: [String]
        /// The mode of the container: the parent group, or sequence at top level.
        var containerMode: Group.Mode
        var position: Int
    }

    private(set) var entries: [String: Entry] = [:]
    /// Steps in file order, each id once.
    private(set) var order: [String] = []
    /// Ids seen more than once, with the later step's location and the first one's.
    private(set) var duplicates: [(id: String, location: SourceLocation, first: SourceLocation)] = []

    init(_ job: Job) {
        add(job.steps, section: .main, ancestors: [], mode: .sequence)
        add(job.finally, section: .finally, ancestors: [], mode: .sequence)
    }

    private mutating func add(_ steps: [Step], section: Section, ancestors: [String], mode: Group.Mode) {
        for (position, step) in steps.enumerated() {
            if let existing = entries[step.id] {
                duplicates.append((step.id, step.location, existing.step.location))
            } else {
                entries[step.id] = Entry(step: step, section: section, ancestors: ancestors, containerMode: mode, position: position)
                order.append(step.id)
            }
            if let group = step.group {
                add(group.steps, section: section, ancestors: ancestors + [step.id], mode: group.mode)
            }
        }
    }

    subscript(id: String) -> Entry? { entries[id] }

    /// The step's ancestors, outermost first, followed by the step itself.
    func chain(_ id: String) -> [String] {
        (entries[id]?.ancestors ?? []) + [id]
    }

    /// Whether `target` has certainly finished (or been skipped) whenever a
    /// step `source` starts.
    func hasFinished(_ target: String, before source: String) -> Bool {
        guard let targetEntry = entries[target], let sourceEntry = entries[source] else { return false }
        if targetEntry.section != sourceEntry.section {
            return targetEntry.section == .main
        }
        let targetChain = chain(target), sourceChain = chain(source)
        guard let split = Self.divergence(targetChain, sourceChain) else {
            return false  // one contains the other: the group is still running
        }
        let targetSide = targetChain[split], sourceSide = sourceChain[split]
        guard let a = entries[targetSide], let b = entries[sourceSide] else { return false }
        switch b.containerMode {
        case .sequence: return a.position < b.position
        case .parallel: return false
        case .graph: return needs(sourceSide, transitively: targetSide)
        }
    }

    /// The first level at which two ancestor chains differ; nil when one is a
    /// prefix of the other.
    static func divergence(_ a: [String], _ b: [String]) -> Int? {
        zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset
    }

    /// Whether `descendant` is inside the group `group`.
    func isInside(_ descendant: String, group: String) -> Bool {
        entries[descendant]?.ancestors.contains(group) ?? false
    }

    /// Whether `id` waits for `target` through a chain of `needs`. Stops at
    /// the first path found, so the usual reference to a direct need is O(1).
    func needs(_ id: String, transitively target: String) -> Bool {
        var seen: Set<String> = []
        var stack = entries[id]?.step.needs.map(\.id) ?? []
        while let next = stack.popLast() {
            if next == target { return true }
            guard seen.insert(next).inserted else { continue }
            stack += entries[next]?.step.needs.map(\.id) ?? []
        }
        return false
    }
}
