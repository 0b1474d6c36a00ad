import AtomdSpec

/// Turns an action and the values known now into the JSON input its atom gets.
struct ActionInput {
    let evaluator: ExpressionEvaluator
    /// Job env, then step env, as `NAME: value`.
    let environment: [EnvironmentVariable]

    func resolve(_ action: Action) throws(EvaluationError) -> JSONValue {
        switch action {
        case .run(let shell):
            var env: [String: JSONValue] = [:]
            for variable in environment + shell.env {
                env[variable.name] = .string(try evaluator.renderString(variable.value))
            }
            var input: [String: JSONValue] = [
                "script": .string(try renderShell(shell.script)),
                "env": .object(env),
            ]
            if let path = shell.shell { input["shell"] = .string(path) }
            if let cwd = shell.cwd { input["cwd"] = .string(try evaluator.renderString(cwd)) }
            if let user = shell.user { input["user"] = .string(try evaluator.renderString(user)) }
            if let group = shell.group { input["group"] = .string(try evaluator.renderString(group)) }
            if let codes = shell.successCodes { input["success_codes"] = .array(codes.map { .integer(Int64($0)) }) }
            if let codes = shell.absentCodes { input["absent_codes"] = .array(codes.map { .integer(Int64($0)) }) }
            if let grace = shell.killGrace { input["kill_grace_ms"] = .integer(Int64(grace / .milliseconds(1))) }
            if shell.keepRunning { input["keep_running"] = .bool(true) }
            return .object(input)
        case .http(let http):
            var input: [String: JSONValue] = [
                "method": .string(http.method),
                "url": .string(try evaluator.renderString(http.url)),
                "headers": .object(try strings(http.headers)),
                "query": .object(try strings(http.query)),
                "expect": .array(http.expect.map { .integer(Int64($0)) }),
                "absent": .array(http.absent.map { .integer(Int64($0)) }),
            ]
            if let json = http.json { input["json"] = try evaluator.render(json) }
            if let body = http.body { input["body"] = .string(try evaluator.renderString(body)) }
            return .object(input)
        case .plugin(let plugin):
            return try evaluator.render(plugin.with)
        case .group:
            return .null
        }
    }

    private func strings(_ headers: [HTTPAction.Header]) throws(EvaluationError) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for header in headers { out[header.name] = .string(try evaluator.renderString(header.value)) }
        return out
    }

    /// Every substitution becomes one single-quoted shell word, so a value can
    /// never inject shell syntax (`'; rm -rf /'` stays one harmless argument).
    func renderShell(_ template: Template) throws(EvaluationError) -> String {
        var script = ""
        for part in template.parts {
            switch part {
            case .literal(let text): script += text
            case .expression(let expression): script += Self.shellQuote(try evaluator.evaluate(expression).interpolated)
            }
        }
        return script
    }

    static func shellQuote(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

extension Template {
    var hasExpressions: Bool {
        parts.contains { if case .expression = $0 { true } else { false } }
    }
}

extension Expression {
    /// The `outputs.KEY` names the expression reads, for revert's "outputs
    /// never recorded" check.
    var outputKeys: [String] {
        var keys: [String] = []
        var stack = [root]
        while let node = stack.popLast() {
            if let path = node.propertyPath, path.context == "outputs", let first = path.names.first {
                keys.append(first.0)
            }
            stack += node.children
        }
        return keys
    }
}
