import AtomdSpec

extension RunExecutor {
    /// Runs sibling steps by their group's mode. Returns false when one
    /// failed (after the ones already running have finished) or the run
    /// stopped; steps not started stay pending.
    func executeList(_ ids: [String], mode: Group.Mode, maxParallel: Int?, scope: FailureScope, frame: Frame) async -> Bool {
        switch mode {
        case .sequence:
            for id in ids {
                guard await state.mayStart(scope) else { return false }
                guard await executeStep(id, scope: scope, frame: frame) else {
                    scope.halt()
                    return false
                }
            }
            return true
        case .parallel:
            return await executeReady(ids, dependencies: [:], maxParallel: maxParallel, scope: scope, frame: frame)
        case .graph:
            var needs: [String: [String]] = [:]
            for id in ids { needs[id] = table[id]?.step.needs.map(\.id) ?? [] }
            return await executeReady(ids, dependencies: needs, maxParallel: maxParallel, scope: scope, frame: frame)
        }
    }

    /// Starts each step once all its dependencies have finished, at most
    /// `maxParallel` at a time. Ready-counting is incremental: each finished
    /// step decrements its dependents' counters, O(1) per edge.
    private func executeReady(_ ids: [String], dependencies: [String: [String]], maxParallel: Int?,
                              scope: FailureScope, frame: Frame) async -> Bool {
        var waitingOn: [String: Int] = [:]
        var dependents: [String: [String]] = [:]
        for id in ids {
            let needs = dependencies[id] ?? []
            waitingOn[id] = needs.count
            for need in needs { dependents[need, default: []].append(id) }
        }
        // A queue: append at the end, take from `head`; no O(n) inserts.
        var ready = ids.filter { waitingOn[$0] == 0 }
        var head = 0
        let limit = maxParallel ?? Int.max
        var allSucceeded = true
        var stopped = false
        var finished = 0
        await withTaskGroup(of: (String, Bool).self) { group in
            var running = 0
            while true {
                while !stopped, running < limit, head < ready.count {
                    guard await state.mayStart(scope) else {
                        stopped = true
                        break
                    }
                    let next = ready[head]
                    head += 1
                    running += 1
                    group.addTask { (next, await executeStep(next, scope: scope, frame: frame)) }
                }
                guard let (id, succeeded) = await group.next() else { break }
                running -= 1
                finished += 1
                if succeeded {
                    for dependent in dependents[id] ?? [] {
                        waitingOn[dependent, default: 1] -= 1
                        if waitingOn[dependent] == 0 { ready.append(dependent) }
                    }
                } else {
                    allSucceeded = false
                    stopped = true
                    scope.halt()
                }
            }
        }
        return allSucceeded && finished == ids.count
    }
}
