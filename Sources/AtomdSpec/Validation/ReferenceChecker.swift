/// Resolves every name an expression uses against the job, statically: unknown
/// contexts, variables, secrets, steps, outputs and functions, and references
/// to steps that cannot have finished when the expression is evaluated.
struct ReferenceChecker {
    /// The contexts an expression may read.
    enum Context: String, CaseIterable {
        case vars, env, secrets, steps, outputs, response, run, step, retry
        /// `groups.GROUP.item` / `groups.GROUP.attempt`: an enclosing retrying
        /// group's current attempt, for steps nested in more than one.
        case groups
        /// `state.before.KEY` / `state.after.KEY`: what the step's `state:`
        /// probe (or its plugin atom) reported before and after execute.
        case state
    }

    /// Where an expression is evaluated, and so what it may see.
    struct Site {
        /// The step the expression belongs to; nil for job-level `env`.
        var stepID: String?
        var contexts: Set<Context>
        /// Declared outputs readable as `outputs.NAME`; nil when any key may exist.
        var ownOutputs: [String]?
        /// A group's `outputs:` may read the steps inside it.
        var readsOwnChildren = false
        /// Named in messages when a context is unavailable ("'until'").
        var place: String?
        /// The retrying groups around the site, outermost first: what
        /// `groups.GROUP` may name.
        var retryGroups: [String] = []
    }

    let job: Job
    let index: StepIndex
    let report: (SourceLocation, String, String?) -> Void

    static let members: [Context: [String]] = [
        .response: ["status", "headers", "json", "text", "items"],
        .run: ["id", "status", "name"],
        .step: ["id", "attempt", "idempotency_key"],
        .retry: ["item", "attempt"],
        .state: ["before", "after"],
    ]

    func check(_ expression: Expression, at site: Site) {
        walk(expression.root, in: expression, site: site)
    }

    func check(_ template: Template, at site: Site) {
        for expression in template.expressions { check(expression, at: site) }
    }

    private func walk(_ node: ExpressionNode, in expression: Expression, site: Site) {
        switch node.kind {
        case .context, .member, .index:
            if let path = node.propertyPath {
                checkPath(path.context, path.names, complete: path.isComplete, node: node, in: expression, site: site)
                walkDynamicKeys(node, in: expression, site: site)
            } else {
                for child in node.children { walk(child, in: expression, site: site) }
            }
        case .call(let name, let arguments):
            checkCall(name, arguments.count, at: expression.location(of: node))
            for argument in arguments { walk(argument, in: expression, site: site) }
        default:
            for child in node.children { walk(child, in: expression, site: site) }
        }
    }

    private func walkDynamicKeys(_ node: ExpressionNode, in expression: Expression, site: Site) {
        switch node.kind {
        case .member(let base, _):
            walkDynamicKeys(base, in: expression, site: site)
        case .index(let base, let key):
            walkDynamicKeys(base, in: expression, site: site)
            walk(key, in: expression, site: site)
        default:
            break
        }
    }

    private func checkCall(_ name: String, _ count: Int, at location: SourceLocation) {
        guard let signature = ExpressionFunctions.signatures[name] else {
            report(location, "unknown function '\(name)'",
                   Suggestion.hint(for: name, in: ExpressionFunctions.signatures.keys.sorted())
                       ?? "functions are \(ExpressionFunctions.signatures.keys.sorted().joined(separator: ", "))")
            return
        }
        if count < signature.minArguments || count > signature.maxArguments {
            report(location, "\(name) takes \(signature.minArguments == signature.maxArguments ? "\(signature.minArguments)" : "at least \(signature.minArguments)") argument(s), not \(count)",
                   "write \(signature.usage)")
        }
    }

    private func checkPath(_ root: String, _ names: [(String, Int)], complete: Bool, node: ExpressionNode,
                           in expression: Expression, site: Site) {
        let rootLocation = expression.location(of: firstNode(node))
        func at(_ index: Int) -> SourceLocation {
            index < names.count ? expression.location.advanced(by: names[index].1) : rootLocation
        }
        guard let context = Context(rawValue: root) else {
            report(rootLocation, "unknown name '\(root)'",
                   Suggestion.hint(for: root, in: Context.allCases.map(\.rawValue))
                       ?? "expressions read vars, env, secrets, steps, outputs, response, run, step, retry, groups and state")
            return
        }
        guard site.contexts.contains(context) else {
            report(rootLocation, unavailable(context, site: site), nil)
            return
        }
        guard let first = names.first?.0 else { return }
        switch context {
        case .vars:
            if job.vars[first] == nil {
                report(at(0), "unknown variable '\(first)'",
                       Suggestion.hint(for: first, in: job.vars.keys) ?? "declare it under 'vars:' with a default value")
            }
        case .secrets:
            if job.secrets[first] == nil {
                report(at(0), "unknown secret '\(first)'",
                       Suggestion.hint(for: first, in: job.secrets.keys) ?? "declare it under 'secrets:'")
            }
        case .steps:
            checkStepReference(first, names: names.dropFirst().map(\.0), complete: complete, site: site, at: at)
        case .outputs:
            if let declared = site.ownOutputs, !declared.contains(first) {
                report(at(0), "the step declares no output '\(first)'",
                       Suggestion.hint(for: first, in: declared) ?? "declared outputs: \(declared.joined(separator: ", "))")
            }
        case .groups:
            guard site.retryGroups.contains(first) else {
                report(at(0), "'\(first)' is not a retrying group around this step",
                       site.retryGroups.isEmpty ? "groups.GROUP reads a group with 'retry: { times }' or 'retry: { for_each }' that encloses the step"
                           : Suggestion.hint(for: first, in: site.retryGroups) ?? "enclosing retrying groups: \(site.retryGroups.joined(separator: ", "))")
                return
            }
            if names.count >= 2, !(Self.members[.retry] ?? []).contains(names[1].0) {
                report(at(1), "'groups.\(first)' has no '\(names[1].0)'", "it has item and attempt")
            }
        case .response, .run, .step, .retry, .state:
            if let allowed = Self.members[context], !allowed.contains(first) {
                report(at(0), "'\(root)' has no '\(first)'",
                       Suggestion.hint(for: first, in: allowed) ?? "it has \(allowed.joined(separator: ", "))")
            }
        case .env:
            if !job.env.contains(where: { $0.name == first }) {
                report(at(0), "the job's env: declares no '\(first)'",
                       "env.NAME reads the job's env:, not atomd's own environment (which may hold its secrets): declare \(first) under env:, or read atomd's variable as a secret: secrets: { \(first.lowercased()): { env: \(first) } }")
            }
        }
    }

    private func firstNode(_ node: ExpressionNode) -> ExpressionNode {
        switch node.kind {
        case .member(let base, _), .index(let base, _): firstNode(base)
        default: node
        }
    }

    private func unavailable(_ context: Context, site: Site) -> String {
        if let place = site.place {
            let allowed = Context.allCases.filter(site.contexts.contains).map(\.rawValue).joined(separator: " and ")
            return "'\(context.rawValue)' is not available in \(place); it reads \(allowed)"
        }
        return switch context {
        case .outputs: "'outputs' is only available in a step's check, revert and outputs"
        case .response: "'response' is only available in the outputs of an http step"
        case .retry, .groups: "'\(context.rawValue)' is only set inside a group that has 'retry: { times }' or 'retry: { for_each }'"
        case .state: "'state' is read in the check and revert of a step that has a 'state:' probe (or a plugin atom that reports state)"
        case .steps, .step: "'\(context.rawValue)' is not available in job-level env; steps have not run yet"
        case .env: "'env' is not available in job-level env, which is what defines it; use the value itself, a var or a secret"
        default: "'\(context.rawValue)' is not available here"
        }
    }

    private func checkStepReference(_ id: String, names: [String], complete: Bool, site: Site, at: (Int) -> SourceLocation) {
        guard let target = index[id] else {
            report(at(0), "unknown step '\(id)'", Suggestion.hint(for: id, in: index.order))
            return
        }
        guard let source = site.stepID else { return }
        if source == id {
            report(at(0), "step '\(id)' refers to itself", "in its check, revert and outputs use outputs.NAME")
            return
        }
        let childOfOwnGroup = site.readsOwnChildren && index.isInside(id, group: source)
        if !childOfOwnGroup, !index.hasFinished(id, before: source) {
            report(at(0), "step '\(id)' cannot have finished when '\(source)' runs", orderingHint(id, source))
            return
        }
        guard let member = names.first else { return }
        guard member == "outputs" || member == "status" else {
            report(at(1), "'steps.\(id)' has no '\(member)'", Suggestion.hint(for: member, in: ["outputs", "status"]) ?? "it has outputs and status")
            return
        }
        guard member == "outputs", names.count >= 2 else { return }
        let key = names[1]
        let declared = target.step.outputs.map(\.name)
        if declared.contains(key) { return }
        let producesAnyKey: Bool
        switch target.step.action {
        case .run, .plugin: producesAnyKey = true
        case .group, .http: producesAnyKey = false
        }
        switch (declared.isEmpty, producesAnyKey) {
        case (true, true):
            return  // a script or plugin may produce any key
        case (true, false):
            report(at(2), "step '\(id)' declares no outputs",
                   target.step.group != nil ? "add outputs: { \(key): ${{ steps.INNER.outputs.\(key) }} } to the group"
                       : "add outputs: { \(key): ${{ response.json.\(key) }} } to it")
        default:
            report(at(2), "step '\(id)' declares no output '\(key)'",
                   Suggestion.hint(for: key, in: declared) ?? "it declares \(declared.joined(separator: ", "))")
        }
    }

    private func orderingHint(_ target: String, _ source: String) -> String {
        guard let t = index[target], let s = index[source] else { return "" }
        if t.section == .finally, s.section == .main { return "'\(target)' is a finally step; it runs after all main steps" }
        if s.ancestors.contains(target) { return "'\(source)' is inside group '\(target)', which is still running" }
        if t.ancestors.contains(source) { return "'\(target)' is inside '\(source)'; read it from the group's outputs" }
        let tChain = index.chain(target), sChain = index.chain(source)
        let split = StepIndex.divergence(tChain, sChain) ?? 0
        switch index[sChain[split]]?.containerMode ?? .sequence {
        case .sequence: return "it comes later in the sequence; move it before '\(source)'"
        case .parallel: return "both are in the same parallel group and run at the same time"
        case .graph: return "add '\(tChain[split])' to the needs of '\(sChain[split])'"
        }
    }
}
