/// Decodes steps, recursively through groups.
struct StepDecoder {
    let context: DecodeContext
    let defaults: StepDefaults

    static let actionKeys = ["run", "http", "uses", "group"]
    /// What only a step with an action (not a group) may have.
    static let leafKeys = ["revert", "check", "state", "converge", "idempotent"]

    func decodeList(_ node: YAMLNode, _ field: String, parentMode: Group.Mode) -> [Step] {
        guard let items = context.sequence(node, field) else { return [] }
        return items.compactMap { decode($0, parentMode: parentMode) }
    }

    func decode(_ node: YAMLNode, parentMode: Group.Mode) -> Step? {
        guard var keys = MappingReader(node, "a step", context: context) else { return nil }
        let idNode = keys("id")
        let id = idNode.flatMap { context.name($0, "step id", pattern: .stepID) }
        if idNode == nil {
            context.error(node.location, "step has no 'id'", hint: "add 'id: NAME' (lowercase letters, digits, '_', '-')")
        }
        let label = id.map { "step '\($0)'" } ?? "the step"
        let name = keys("name").flatMap { context.string($0, "name") }
        let condition = keys("if").flatMap { context.bareExpression($0, "if") }
        let env = keys("env").map { JobDecoder(context: context).decodeEnvironment($0, "env") } ?? []
        let timeout = keys("timeout").flatMap { context.duration($0, "timeout") }
        let outputs = keys("outputs").map(decodeOutputs) ?? []
        let mask = keys("mask").map { decodeMask($0, outputs: outputs, hasDeclaredOutputs: keys.has("outputs")) } ?? []
        let continueOnError = keys("continue_on_error").flatMap { context.bool($0, "continue_on_error") } ?? false
        let lock = keys("lock").flatMap { context.name($0, "lock name", pattern: .label) }
        let needs = decodeNeeds(keys("needs"), at: keys.keyLocation("needs"), parentMode: parentMode)

        let present = Self.actionKeys.filter { keys.has($0) }
        guard present.count == 1, let keyword = present.first else {
            if present.isEmpty {
                context.error(node.location, "\(label) has no action", hint: "add one of run, http, uses or group")
            } else {
                context.error(keys.keyLocation(present[1]),
                              "\(label) has both '\(present[0])' and '\(present[1])'", hint: "a step has exactly one action; split it into two steps")
            }
            _ = ActionDecoder(context: context, steps: self).decodeOptions(&keys, keyword: present.first, role: .step)
            for field in Self.actionKeys + ["retry"] + Self.leafKeys { _ = keys(field) }
            keys.finish()
            return nil
        }
        let retryNode = keys("retry")
        var step: Step?
        if keyword == "group" {
            let groupRetry = retryNode.flatMap { RetryDecoder(context: context).decodeGroupRetry($0) }
            for field in Self.leafKeys where keys.has(field) {
                context.error(keys.keyLocation(field), "a group has no '\(field)'",
                              hint: "its steps are reverted and checked one by one; put '\(field)' on them")
                _ = keys(field)
            }
            if let groupNode = keys("group"), var group = decodeGroup(groupNode) {
                group.retry = groupRetry
                step = id.map { Step(id: $0, location: node.location, action: .group(group)) }
            }
        } else {
            let retry = retryNode.flatMap { RetryDecoder(context: context).decodePolicy($0, base: defaults.retry) } ?? defaults.retry
            let actions = ActionDecoder(context: context, steps: self)
            let action = actions.decodeOptions(&keys, keyword: keyword, role: .step)
            let revert = keys("revert").flatMap { actions.decodeRevert($0) } ?? .unspecified
            let check = keys("check").flatMap { actions.decodeAuxiliary($0, role: .check) }
            let state = keys("state").flatMap { actions.decodeAuxiliary($0, role: .state) }
            let converge = keys("converge").flatMap { context.bool($0, "converge") } ?? false
            let idempotent = keys("idempotent").flatMap { context.bool($0, "idempotent") } ?? false
            if converge, check == nil, keyword != "uses" {
                context.error(keys.keyLocation("converge"), "'converge: true' needs a 'check'",
                              hint: "add a check that tells whether the step's effect is already present")
            }
            if let action, let id {
                step = Step(id: id, location: node.location, action: action, retry: retry, revert: revert,
                            check: check, state: state, converge: converge, idempotent: idempotent)
            }
        }
        keys.finish()
        guard var step else { return nil }
        step.name = name
        step.condition = condition
        step.env = env
        step.timeout = timeout ?? (step.group == nil ? defaults.timeout : nil)
        step.outputs = outputs
        step.mask = mask
        step.continueOnError = continueOnError
        step.lock = lock
        step.needs = needs
        return step
    }

    private func decodeOutputs(_ node: YAMLNode) -> [Step.Output] {
        context.templateMap(node, "outputs", keys: "output name", pattern: .identifier)
            .map { Step.Output(name: $0.name, value: $0.value) }
    }

    /// `mask:`: outputs that are secrets (a token an API returned). A name
    /// must be a declared output when the step declares outputs.
    private func decodeMask(_ node: YAMLNode, outputs: [Step.Output], hasDeclaredOutputs: Bool) -> [String] {
        context.stringList(node, "mask").compactMap { name, location in
            if hasDeclaredOutputs, !outputs.contains(where: { $0.name == name }) {
                let declared = outputs.map(\.name)
                context.error(location, "'mask' names '\(name)', which the step does not declare under 'outputs'",
                              hint: Suggestion.hint(for: name, in: declared) ?? "declared outputs: \(declared.joined(separator: ", "))")
                return nil
            }
            return name
        }
    }

    private func decodeNeeds(_ node: YAMLNode?, at location: SourceLocation, parentMode: Group.Mode) -> [StepReference] {
        guard let node else { return [] }
        guard parentMode == .graph else {
            context.error(location, "'needs' is only allowed in a group with 'mode: graph'",
                          hint: parentMode == .sequence ? "steps of a sequence already run in order; remove 'needs'" : "make the group 'mode: graph'")
            return []
        }
        return context.stringList(node, "needs").map { StepReference(id: $0.0, location: $0.1) }
    }

    private func decodeGroup(_ node: YAMLNode) -> Group? {
        guard var keys = MappingReader(node, "'group'", context: context) else { return nil }
        var mode = Group.Mode.sequence
        if let modeNode = keys("mode"), let text = context.string(modeNode, "mode") {
            if let parsed = Group.Mode(rawValue: text) {
                mode = parsed
            } else {
                let names = Group.Mode.allCases.map(\.rawValue)
                context.error(modeNode.location, "mode must be one of \(names.joined(separator: ", ")), not '\(text)'",
                              hint: Suggestion.hint(for: text, in: names))
            }
        }
        var maxParallel: Int?
        if let node = keys("max_parallel") {
            maxParallel = context.integer(node, "max_parallel", range: 1...1024)
            if mode == .sequence {
                context.error(node.location, "'max_parallel' has no effect in a sequence", hint: "set 'mode: parallel' or 'mode: graph'")
            }
        }
        var steps: [Step] = []
        if let stepsNode = keys("steps") {
            steps = decodeList(stepsNode, "steps", parentMode: mode)
            if case .sequence(let items) = stepsNode.kind, items.isEmpty {
                context.error(stepsNode.location, "the group has no steps", hint: "add steps or remove the group")
            }
        } else {
            context.error(node.location, "'group' needs 'steps'")
        }
        keys.finish(extraHint: ["retry": "put 'retry' on the step that holds the group, beside 'group:'"])
        return Group(mode: mode, maxParallel: maxParallel, steps: steps)
    }
}
