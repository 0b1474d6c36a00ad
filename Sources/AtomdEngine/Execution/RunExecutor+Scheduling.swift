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
        case .parallel, .graph:
            var needs: [String: [String]] = [:]
            if mode == .graph {
                for id in ids { needs[id] = table[id]?.step.needs.map(\.id) ?? [] }
            }
            return await inDependencyOrder(
                ids, waitingFor: needs, limit: maxParallel ?? Int.max,
                mayStart: { await state.mayStart(scope) }, onFailure: { scope.halt() }, beforeWaiting: { await state.flush() }
            ) { id in await executeStep(id, scope: scope, frame: frame) }
        }
    }
}
