/// Graph levels: a step with no needs is level 1; otherwise one more than the
/// highest level among its needs. Computed with Kahn's algorithm, so it is
/// linear in steps plus edges.
struct GraphLevels {
    let levels: [String: Int]

    init(_ steps: [Step]) {
        var remaining: [String: Int] = [:]
        var dependents: [String: [String]] = [:]
        let ids = Set(steps.map(\.id))
        for step in steps {
            let needs = step.needs.map(\.id).filter(ids.contains)
            remaining[step.id] = needs.count
            for need in needs { dependents[need, default: []].append(step.id) }
        }
        var levels: [String: Int] = [:]
        var ready = steps.map(\.id).filter { remaining[$0] == 0 }
        for id in ready { levels[id] = 1 }
        while let id = ready.popLast() {
            for dependent in dependents[id] ?? [] {
                levels[dependent] = max(levels[dependent] ?? 1, (levels[id] ?? 1) + 1)
                remaining[dependent, default: 0] -= 1
                if remaining[dependent] == 0 { ready.append(dependent) }
            }
        }
        self.levels = levels
    }
}
