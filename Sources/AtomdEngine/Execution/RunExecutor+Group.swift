import AtomdSpec

extension RunExecutor {
    /// Runs a group; with a retry controller, a failed attempt's done steps
    /// are reverted and the group runs again (with the next `for_each` item).
    func executeGroup(_ step: Step, scope: FailureScope, frame: Frame) async -> Bool {
        guard let group = step.group, let node = table[step.id], let record = await state[step.id] else { return false }
        // A resumed run re-enters a group that was running.
        let resumed = record.status == .running
        if !resumed { await state.move(step.id, to: .running, attempt: 1) { $0.attempts = 1 } }
        guard let controller = group.retry else {
            let succeeded = await executeList(node.children, mode: group.mode, maxParallel: group.maxParallel, scope: scope, frame: frame)
            return await finishGroup(step, succeeded: succeeded, scope: scope, frame: frame)
        }
        let items: [JSONValue?]
        switch controller.strategy {
        case .times(let count):
            items = Array(repeating: nil, count: count)
        case .forEach(let list):
            items = list
        case .forEachExpression(let expression):
            let evaluator = await evaluator(for: step.id, frame: frame, attempt: 1)
            switch Result(catching: { () throws(EvaluationError) in try evaluator.evaluate(expression) }) {
            case .success(.array(let list)) where !list.isEmpty:
                items = list
            case .success(let other):
                return await fail(step, .input("for_each must give a non-empty list, not \(other.json)"), effect: .none, scope: scope, frame: frame)
            case .failure(let error):
                return await fail(step, .input("for_each: \(error.message)"), effect: .none, scope: scope, frame: frame)
            }
        }
        guard !items.isEmpty else {
            return await fail(step, .input("the retry controller has no attempts"), effect: .none, scope: scope, frame: frame)
        }
        var index = resumed ? min(max(record.attempts - 1, 0), items.count - 1) : 0
        // Compensation of a failed attempt was under way when the agent stopped.
        var failedBeforeRestart = resumed ? await attemptWasReverting(step.id) : false
        while true {
            let item = items[index]
            let attemptFrame = frame.entering(group: step.id, item: item, attempt: index + 1)
            if !failedBeforeRestart {
                let attemptScope = FailureScope(parent: scope)
                if await executeList(node.children, mode: group.mode, maxParallel: group.maxParallel, scope: attemptScope,
                                     frame: attemptFrame) {
                    return await finishGroup(step, succeeded: true, scope: scope, frame: attemptFrame)
                }
            }
            failedBeforeRestart = false
            // Unwinding for a rollback or the operator's revert: this
            // attempt did not fail, and is not reverted here.
            if await state.isUnwinding { return false }
            let label = item.map { "item \($0.interpolated)" } ?? "attempt \(index + 1)"
            guard !(await state.cancelRequested), !scope.isHalted, index + 1 < items.count, await state.isRecording else { break }
            await state.note(step.id, "\(label) failed; reverting the group's done steps before the next attempt")
            guard await compensateList(node.children, mode: group.mode) else {
                return await finishGroup(step, succeeded: false, scope: scope, frame: attemptFrame)
            }
            index += 1
            // Journaled before the steps are reset: recovery starts the next
            // attempt from a clean slate even if the reset was cut short.
            await state.move(step.id, to: .running, attempt: index + 1) { $0.attempts = index + 1 }
            for id in node.children.flatMap(table.subtree) {
                guard await state[id]?.status != .pending else { continue }
                await state.move(id, to: .pending) {
                    $0.effect = .none
                    $0.outputs = nil
                    $0.error = nil
                    $0.before = nil
                    $0.doubtKey = nil
                    $0.retryContext = nil
                    $0.revertAttempt = 0
                }
            }
            if let delay = controller.delay {
                do { try await Task.sleep(for: delay) } catch { break }
            }
        }
        return await finishGroup(step, succeeded: false, scope: scope, frame: frame)
    }

    /// Whether the current attempt of a retry-controller group had failed and
    /// was being reverted. Steps inside nested retry controllers belong to
    /// those controllers' attempts, not to this one.
    private func attemptWasReverting(_ groupID: String) async -> Bool {
        var queue = table[groupID]?.children ?? []
        while let id = queue.popLast() {
            guard let node = table[id] else { continue }
            if let status = await state[id]?.status, [.reverting, .reverted, .revertFailed].contains(status) { return true }
            if node.step.group?.retry == nil { queue.append(contentsOf: node.children) }
        }
        return false
    }

    private func finishGroup(_ step: Step, succeeded: Bool, scope: FailureScope, frame: Frame) async -> Bool {
        guard succeeded else {
            if await state.isUnwinding { return false }
            // The group's own failure: its steps carry the effects, the group none.
            return await fail(step, .error("a step of the group failed", exitCode: nil), effect: .none, scope: scope, frame: frame)
        }
        var outputs: JSONValue = .object([:])
        if !step.outputs.isEmpty {
            let evaluator = await evaluator(for: step.id, frame: frame, attempt: 1)
            do {
                outputs = try evaluator.renderOutputs(step.outputs)
            } catch {
                return await fail(step, .input("outputs: \(error.message)"), effect: .none, scope: scope, frame: frame)
            }
        }
        await state.move(step.id, to: .succeeded, data: .object(["outputs": outputs])) {
            $0.outputs = outputs
            $0.effect = .made
        }
        return true
    }
}
