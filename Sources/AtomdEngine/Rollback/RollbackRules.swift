import AtomdSpec

/// Decides whether a rollback is allowed on a run as it is now, and what
/// it does. Pure: the same records always give the same answer, so every
/// rule is tested without running anything.
struct RollbackRules {
    let table: JobTable
    let records: [String: StepRecord]
    let status: RunStatus
    let autoResume: Bool

    func plan(_ request: RollbackRequest) throws(RollbackRefusal) -> RollbackPlan {
        guard [.running, .paused].contains(status) else {
            let hint = switch status {
            case .revertFailed: "`atomd rollback RUN --retry` retries the failed revert first"
            case .reverting: "the run is being compensated; when that has ended, nothing is left to roll back"
            case .queued: "wait until the run has started"
            default: "a run that has ended cannot be rolled back"
            }
            throw RollbackRefusal(rule: "run-state", "the run is \(status.rawValue); a rollback needs a running or paused run", hint: hint)
        }
        let target = try self.target(request.target)
        let resume = request.resume || autoResume
        switch request.mode {
        case .token:
            return try token(target, start: request.start, resume: resume, keep: request.keep)
        case .any:
            guard request.keep.isEmpty else {
                throw RollbackRefusal(rule: "keep-token", "--keep has no meaning in ANY mode, which reverts nothing",
                                      hint: "leave --keep out, or use TOKEN mode")
            }
            return try any(target, start: request.start, resume: resume)
        }
    }

    /// Every step of the main steps, in job order, as a target with the
    /// same `start` and mode.
    func targets(start: String?, mode: RollbackMode) -> [RollbackTarget] {
        table.main.flatMap(table.subtree).compactMap { (id: String) -> RollbackTarget? in
            guard let node = table[id] else { return nil }
            switch Result(catching: { () throws(RollbackRefusal) in try plan(RollbackRequest(target: id, start: start, mode: mode)) }) {
            case .success:
                return RollbackTarget(step: id, path: node.path, allowed: true, reason: nil)
            case .failure(let refusal):
                return RollbackTarget(step: id, path: node.path, allowed: false, reason: refusal.description)
            }
        }
    }

    // MARK: Rules

    private func target(_ id: String) throws(RollbackRefusal) -> JobTable.Node {
        guard let node = table[id], let record = records[id] else {
            throw RollbackRefusal(rule: "target-exists", "the job has no step '\(id)'", hint: "`atomd rollback RUN --targets` lists the steps")
        }
        guard !isFinally(id) else {
            throw RollbackRefusal(rule: "target-main", "'\(id)' is a finally step", hint: "roll back to one of the main steps")
        }
        guard node.step.group == nil else {
            throw RollbackRefusal(rule: "target-step", "'\(id)' is a group", hint: "roll back to one of its steps, or to a step before it")
        }
        guard record.status == .succeeded else {
            throw RollbackRefusal(rule: "target-succeeded", "'\(id)' is \(record.status.rawValue); only a succeeded step can be a target",
                                  hint: "pick a step that succeeded (`--targets` lists them)")
        }
        return node
    }

    private func token(_ target: JobTable.Node, start startID: String?, resume: Bool, keep: [String]) throws(RollbackRefusal) -> RollbackPlan {
        let id = target.step.id
        let siblings = self.siblings(of: target)
        let mode = scopeMode(target)
        guard let targetIndex = siblings.firstIndex(of: id) else {
            throw RollbackRefusal(rule: "scope", "'\(id)' is not in its own scope", hint: "report this as a bug")
        }
        let startID = startID ?? defaultStart(siblings, from: targetIndex, mode: mode)
        guard let start = table[startID], let startRecord = records[startID] else {
            throw RollbackRefusal(rule: "start-exists", "the job has no step '\(startID)'", hint: "--from names a step of the run")
        }
        guard start.parent == target.parent, !isFinally(startID), let startIndex = siblings.firstIndex(of: startID) else {
            throw RollbackRefusal(rule: "same-scope", "'\(startID)' is \(place(start)) and '\(id)' is \(place(target)); "
                                  + "a TOKEN rollback never crosses into or out of a group",
                                  hint: "roll back within the scope of '\(startID)' first (--from and --to in the same group), or use --mode any")
        }
        // Branches have no order: siblings in a parallel or graph group are
        // refused for being apart, whichever the job lists first.
        if startIndex != targetIndex, mode != .sequence {
            let what = mode == .parallel ? "in different branches of a parallel group" : "in a graph group, which has no single path back"
            throw RollbackRefusal(rule: "same-branch", "'\(startID)' and '\(id)' are \(what)",
                                  hint: "roll back each branch on its own (--from equal to --to), or use --mode any")
        }
        guard startIndex >= targetIndex else {
            throw RollbackRefusal(rule: "start-after-target", "'\(startID)' comes before '\(id)'",
                                  hint: "--from names the step to go back from: '\(id)' or a later one")
        }
        guard [.succeeded, .failed, .ignored, .skipped].contains(startRecord.status) else {
            let hint = switch startRecord.status {
            case .running where start.step.group != nil: "roll back inside group '\(startID)' first (--to one of its steps), or use --mode any"
            case .running: "wait for it to finish, or arm the rollback for then with --reserve"
            default: "--from names a step that finished or failed"
            }
            throw RollbackRefusal(rule: "start-finished", "'\(startID)' is \(startRecord.status.rawValue)", hint: hint)
        }
        let path = Array(siblings[targetIndex...startIndex])
        for step in path {
            let status = records[step]?.status ?? .pending
            guard ![.running, .reverting, .revertFailed, .pending].contains(status) else {
                throw RollbackRefusal(rule: "path-settled", "'\(step)', between '\(id)' and '\(startID)', is \(status.rawValue)",
                                      hint: "wait until every step on the path has finished")
            }
        }
        if let later = laterStarted(after: start, siblings: siblings, mode: mode) {
            // --from LATER is only a way out when it is a later step of the
            // same sequence; otherwise LATER's own rollback comes first.
            let hint = mode == .sequence && siblings.contains(later)
                ? "roll back from '\(later)' (--from \(later)), or use --mode any"
                : "roll back '\(later)' first (--to \(later)), or use --mode any"
            throw RollbackRefusal(rule: "current-end", "'\(later)' has run since '\(startID)', so '\(startID)' is not where the run is now",
                                  hint: hint)
        }
        let kept = try self.kept(keep, on: path, target: id)
        let undone = path.filter { !kept.contains($0) }
        let reopened = ancestors(of: target).filter { records[$0]?.status != .running }
        return RollbackPlan(mode: .token, target: id, start: startID, reverts: undone.reversed(),
                            resets: reopened.reversed() + undone.flatMap(table.subtree), resume: resume, kept: path.filter(kept.contains))
    }

    /// `--keep`: steps after the target on the path, which succeeded; they
    /// stay as they are, and the run goes on past them.
    private func kept(_ keep: [String], on path: [String], target: String) throws(RollbackRefusal) -> Set<String> {
        for id in keep {
            guard id != target else {
                throw RollbackRefusal(rule: "keep-on-path", "'\(id)' is the target, which runs again", hint: "keep only steps after the target")
            }
            guard path.contains(id) else {
                throw RollbackRefusal(rule: "keep-on-path", "'\(id)' is not on the path from '\(path.last ?? target)' back to '\(target)'",
                                      hint: "keep steps of the path: \(path.dropFirst().joined(separator: ", "))")
            }
            guard records[id]?.status == .succeeded else {
                throw RollbackRefusal(rule: "keep-succeeded", "'\(id)' is \(records[id]?.status.rawValue ?? "pending"); only a succeeded step is kept",
                                      hint: "leave it out of --keep: it is reverted and runs again")
            }
        }
        return Set(keep)
    }

    private func any(_ target: JobTable.Node, start: String?, resume: Bool) throws(RollbackRefusal) -> RollbackPlan {
        guard start == nil else {
            throw RollbackRefusal(rule: "any-no-start", "--from has no meaning in ANY mode", hint: "leave --from out; ANY jumps from wherever the run is")
        }
        if let running = records.values.first(where: { $0.status == .running && table[$0.id]?.step.group == nil }) {
            throw RollbackRefusal(rule: "nothing-running", "'\(running.id)' is running; ANY mode needs a run with no step running",
                                  hint: "pause the run and wait for it to finish (`atomd pause RUN`)")
        }
        if let busy = records.values.first(where: { [.reverting, .revertFailed].contains($0.status) }) {
            throw RollbackRefusal(rule: "nothing-reverting", "'\(busy.id)' is \(busy.status.rawValue)", hint: "wait for the revert to end")
        }
        let id = target.step.id
        let after = records[id]?.completion ?? 0
        let cleared = table.main.flatMap(table.subtree).filter { step in
            guard step != id, let record = records[step] else { return false }
            return record.status != .pending && record.status != .running && (record.completion ?? 0) > after
        }
        return RollbackPlan(mode: .any, target: id, start: id, reverts: [], resets: [id] + cleared, resume: resume)
    }

    // MARK: Scope

    private func isFinally(_ id: String) -> Bool {
        var root = id
        while let parent = table[root]?.parent { root = parent }
        return table.finally.contains(root)
    }

    private func siblings(of node: JobTable.Node) -> [String] {
        node.parent.flatMap { table[$0]?.children } ?? table.main
    }

    private func scopeMode(_ node: JobTable.Node) -> Group.Mode {
        node.parent.flatMap { table[$0]?.step.group?.mode } ?? .sequence
    }

    private func ancestors(of node: JobTable.Node) -> [String] {
        var found: [String] = []
        var next = node.parent
        while let id = next {
            found.append(id)
            next = table[id]?.parent
        }
        return found
    }

    private func place(_ node: JobTable.Node) -> String {
        node.parent.map { "in group '\($0)'" } ?? "at the job's top level"
    }

    /// The last step that ran in a sequence scope at or after the target;
    /// in a parallel or graph scope, the target itself.
    private func defaultStart(_ siblings: [String], from targetIndex: Int, mode: Group.Mode) -> String {
        guard mode == .sequence else { return siblings[targetIndex] }
        return siblings[targetIndex...].last { records[$0]?.status != .pending } ?? siblings[targetIndex]
    }

    /// A step that started after `start` in its scope or, at each level up,
    /// after the group holding it: then `start` is not a current end.
    private func laterStarted(after start: JobTable.Node, siblings: [String], mode: Group.Mode) -> String? {
        var node = start, siblings = siblings, mode = mode
        while true {
            let id = node.step.id
            if let index = siblings.firstIndex(of: id) {
                switch mode {
                case .sequence:
                    if let later = siblings[(index + 1)...].first(where: { records[$0]?.status != .pending }) { return later }
                case .graph:
                    if let later = siblings.first(where: { table[$0]?.step.needs.contains { $0.id == id } == true
                                                        && records[$0]?.status != .pending }) { return later }
                case .parallel:
                    break
                }
            }
            guard let parentID = node.parent, let parent = table[parentID] else { return nil }
            node = parent
            siblings = self.siblings(of: parent)
            mode = scopeMode(parent)
        }
    }
}
