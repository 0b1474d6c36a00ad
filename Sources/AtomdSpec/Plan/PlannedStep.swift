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
