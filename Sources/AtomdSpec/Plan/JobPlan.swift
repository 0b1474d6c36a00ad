/// What a job will do, computed without running it: the run order with each
/// step's scope, and the order compensation would revert steps in.
public struct JobPlan: Sendable, Codable, Hashable {
    public var job: String
    public var file: String
    public var onFailure: FailurePolicy
    public var steps: [PlannedStep]
    public var finally: [PlannedStep]
    /// Compensation when every step has run: newest first, groups inside-out.
    public var compensation: [CompensationStage]

    public init(_ job: Job) {
        self.job = job.name
        self.file = job.file
        onFailure = job.onFailure
        steps = PlannedStep.list(job.steps, scope: .sequence(group: nil), defaults: job.defaults)
        finally = PlannedStep.list(job.finally, scope: .finally, defaults: job.defaults)
        compensation = CompensationStage.stages(for: job.steps, mode: .sequence)
    }
}

/// One step in run order.
public struct PlannedStep: Sendable, Codable, Hashable {
    /// Where the step runs relative to its siblings.
    public enum Scope: Sendable, Codable, Hashable {
        case sequence(group: String?)
        case parallel(group: String)
        case graph(group: String, level: Int)
        case finally
    }

    public var id: String
    public var name: String?
    /// `run`, `http`, `uses PLUGIN.ATOM` or `group`.
    public var action: String
    public var scope: Scope
    /// 1-based position in a sequence, or the graph level; equal numbers run together.
    public var order: Int
    public var revert: String
    public var check: String?
    public var condition: String?
    public var needs: [String]
    public var flags: [String]
    public var mode: Group.Mode?
    public var maxParallel: Int?
    public var retry: String?
    public var children: [PlannedStep]

    static func list(_ steps: [Step], scope: Scope, defaults: StepDefaults) -> [PlannedStep] {
        let levels = scope.isGraph ? GraphLevels(steps).levels : [:]
        return steps.enumerated().map { position, step in
            var stepScope = scope
            var order = position + 1
            if case .graph(let group, _) = scope {
                order = levels[step.id] ?? 1
                stepScope = .graph(group: group, level: order)
            } else if case .parallel = scope {
                order = 1
            }
            return PlannedStep(step, scope: stepScope, order: order, defaults: defaults)
        }
    }

    init(_ step: Step, scope: Scope, order: Int, defaults: StepDefaults) {
        id = step.id
        name = step.name
        self.scope = scope
        self.order = order
        condition = step.condition?.source
        needs = step.needs.map(\.id)
        check = step.check.map { $0.action.summary }
        var flags: [String] = []
        if step.converge { flags.append("converge") }
        if step.idempotent { flags.append("idempotent") }
        if step.continueOnError { flags.append("continue_on_error") }
        if let lock = step.lock { flags.append("lock \(lock)") }
        if let timeout = step.timeout, timeout != defaults.timeout { flags.append("timeout \(timeout.jobText)") }
        self.flags = flags
        action = step.action.summary
        switch step.revert {
        case .irreversible: revert = "none (irreversible)"
        case .action(let auxiliary): revert = auxiliary.action.summary
        case .unspecified:
            switch step.action {
            case .plugin: revert = "the plugin's own revert"
            case .group: revert = "its steps, inside-out"
            default: revert = "nothing to revert"
            }
        }
        if let group = step.group {
            mode = group.mode
            maxParallel = group.maxParallel
            retry = group.retry.map(\.summary)
            let childScope: Scope = switch group.mode {
            case .sequence: .sequence(group: step.id)
            case .parallel: .parallel(group: step.id)
            case .graph: .graph(group: step.id, level: 1)
            }
            children = PlannedStep.list(group.steps, scope: childScope, defaults: defaults)
        } else {
            retry = step.retry.flatMap { $0.attempts > 1 && $0 != defaults.retry ? "\($0.attempts) attempts" : nil }
            children = []
        }
    }
}

extension PlannedStep.Scope {
    var isGraph: Bool {
        if case .graph = self { return true }
        return false
    }
}

/// Steps that compensation reverts together; stages run one after another.
public struct CompensationStage: Sendable, Codable, Hashable {
    public var steps: [String]
    /// Why these steps revert together ("parallel group prepare").
    public var note: String?

    static func stages(for steps: [Step], mode: Group.Mode, groupID: String? = nil) -> [CompensationStage] {
        switch mode {
        case .sequence:
            return steps.reversed().flatMap { stages(for: $0) }
        case .parallel:
            return merge(steps.map { stages(for: $0) }, note: "branches of parallel group \(groupID ?? "")")
        case .graph:
            let levels = GraphLevels(steps).levels
            let byLevel = Dictionary(grouping: steps) { levels[$0.id] ?? 1 }
            return byLevel.keys.sorted(by: >).flatMap { level in
                merge((byLevel[level] ?? []).map { stages(for: $0) }, note: "graph group \(groupID ?? "") level \(level)")
            }
        }
    }

    private static func stages(for step: Step) -> [CompensationStage] {
        if let group = step.group { return stages(for: group.steps, mode: group.mode, groupID: step.id) }
        return [CompensationStage(steps: [step.id], note: nil)]
    }

    /// Concurrent branches: the i-th stage of every branch runs together.
    private static func merge(_ branches: [[CompensationStage]], note: String) -> [CompensationStage] {
        let depth = branches.map(\.count).max() ?? 0
        return (0..<depth).map { index in
            let ids = branches.flatMap { index < $0.count ? $0[index].steps : [] }
            return CompensationStage(steps: ids, note: ids.count > 1 ? note : nil)
        }
    }
}

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

extension Action {
    /// A short description for plans: `run`, `http POST URL`, `uses files.write`.
    public var summary: String {
        switch self {
        case .run: "run"
        case .http(let http): "http \(http.method)"
        case .plugin(let plugin): "uses \(plugin.qualifiedName)"
        case .group(let group): "group (\(group.mode.rawValue))"
        }
    }
}

extension GroupRetry {
    var summary: String {
        let base: String = switch strategy {
        case .times(let count): "up to \(count) times"
        case .forEach(let items): "for each of \(items.map(\.interpolated).joined(separator: ", "))"
        case .forEachExpression(let expression): "for each item of ${{ \(expression.source) }}"
        }
        return delay.map { "\(base), \($0.jobText) apart" } ?? base
    }
}
