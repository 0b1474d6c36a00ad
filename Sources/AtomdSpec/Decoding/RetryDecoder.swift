/// Decodes step retry policies and group retry controllers.
struct RetryDecoder {
    let context: DecodeContext

    /// `retry: 3` or `retry: { attempts, delay, backoff, max_delay, jitter, on }`.
    /// Fields not given come from `base` (the job's `defaults.retry`).
    func decodePolicy(_ node: YAMLNode, base: RetryPolicy?) -> RetryPolicy? {
        var policy = base ?? RetryPolicy()
        if case .scalar = node.kind {
            guard let attempts = context.integer(node, "retry", range: 1...100) else { return nil }
            policy.attempts = attempts
            return policy
        }
        guard var keys = MappingReader(node, "'retry'", context: context) else { return nil }
        if let value = keys("attempts").flatMap({ context.integer($0, "attempts", range: 1...100) }) { policy.attempts = value }
        if let value = keys("delay").flatMap({ context.duration($0, "delay") }) { policy.delay = value }
        if let value = keys("backoff").flatMap({ context.number($0, "backoff", range: 1...10) }) { policy.backoff = value }
        if let value = keys("max_delay").flatMap({ context.duration($0, "max_delay") }) { policy.maxDelay = value }
        if let value = keys("jitter").flatMap({ context.number($0, "jitter", range: 0...1) }) { policy.jitter = value }
        if let node = keys("on") { policy.on = decodeConditions(node) }
        keys.finish(extraHint: [
            "times": "'times' and 'for_each' retry groups; a step retries with 'attempts'",
            "for_each": "'times' and 'for_each' retry groups; a step retries with 'attempts'",
        ])
        return policy
    }

    private func decodeConditions(_ node: YAMLNode) -> [RetryPolicy.Condition] {
        let items: [YAMLNode]
        if case .sequence(let list) = node.kind { items = list } else { items = [node] }
        return items.compactMap { item in
            guard case .scalar(let scalar) = item.kind else {
                context.error(item.location, "'on' lists error, timeout or exit codes, not \(item.kindName)")
                return nil
            }
            switch ScalarValue(scalar) {
            case .string("error"): return .error
            case .string("timeout"): return .timeout
            case .integer(let code) where (1...255).contains(code): return .exitCode(Int(code))
            default:
                context.error(item.location, "'on' takes error, timeout or an exit code from 1 to 255, not '\(scalar.text)'",
                              hint: Suggestion.hint(for: scalar.text, in: ["error", "timeout"]))
                return nil
            }
        }
    }

    /// A group's `retry: { times: N }` or `retry: { for_each: [...] | ${{ expr }} }`.
    func decodeGroupRetry(_ node: YAMLNode) -> GroupRetry? {
        guard var keys = MappingReader(node, "a group's 'retry'", context: context) else { return nil }
        let times = keys("times")
        let forEach = keys("for_each")
        let delay = keys("delay").flatMap { context.duration($0, "delay") }
        let hint = "a group retries with 'times: N' or 'for_each: [...]'"
        keys.finish(extraHint: ["attempts": hint, "backoff": hint, "on": hint])
        switch (times, forEach) {
        case (let times?, nil):
            return context.integer(times, "times", range: 1...100).map { GroupRetry(strategy: .times($0), delay: delay) }
        case (nil, let forEach?):
            if case .sequence(let items) = forEach.kind {
                guard !items.isEmpty else {
                    context.error(forEach.location, "'for_each' is empty", hint: "list at least one item")
                    return nil
                }
                return GroupRetry(strategy: .forEach(items.map(\.jsonValue)), delay: delay)
            }
            // A scalar is an expression only when written as one: `12` or
            // `zones` is a mistake, not a list of one item.
            guard case .scalar(let scalar) = forEach.kind, scalar.text.contains("${{") else {
                context.error(forEach.location, "'for_each' must be a list or a ${{ expression }} giving one, not \(forEach.kindName)"
                              + { if case .scalar(let scalar) = forEach.kind { " '\(scalar.text)'" } else { "" } }(),
                              hint: "write for_each: [a, b] or for_each: ${{ vars.zones }}")
                return nil
            }
            guard let expression = context.bareExpression(forEach, "for_each") else { return nil }
            return GroupRetry(strategy: .forEachExpression(expression), delay: delay)
        case (.some, .some):
            context.error(node.location, "a group's retry has both 'times' and 'for_each'", hint: "keep one")
        case (nil, nil):
            context.error(node.location, "a group's retry needs 'times' or 'for_each'", hint: hint)
        }
        return nil
    }
}
