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
            if !http.form.isEmpty { input["form"] = .object(try strings(http.form)) }
            switch http.auth {
            case .bearer(let token)?:
                input["auth"] = .object(["bearer": .string(try evaluator.renderString(token))])
            case .basic(let user, let password)?:
                input["auth"] = .object(["basic": .object(["user": .string(try evaluator.renderString(user)),
                                                           "password": .string(try evaluator.renderString(password))])])
            case nil: break
            }
            let files: [(String, Template?)] = [("ca_file", http.tls.caFile), ("client_cert", http.tls.clientCertificate),
                                                ("client_key", http.tls.clientKey), ("unix_socket", http.unixSocket)]
            for (key, template) in files {
                if let template { input[key] = .string(try evaluator.renderString(template)) }
            }
            if http.tls.insecure { input["insecure"] = .bool(true) }
            if http.followRedirects { input["follow_redirects"] = .bool(true) }
            if let limit = http.maxResponseBytes { input["max_response_bytes"] = .integer(Int64(limit)) }
            if let timeout = http.connectTimeout { input["connect_timeout_ms"] = .integer(Int64(timeout / .milliseconds(1))) }
            if let timeout = http.timeout { input["timeout_ms"] = .integer(Int64(timeout / .milliseconds(1))) }
            if let until = http.until, let poll = http.poll {
                // The atom evaluates it on each response, with the job's vars.
                input["until"] = .string(until.source)
                input["until_vars"] = evaluator.contexts["vars"] ?? .object([:])
                input["poll"] = .object(["interval_ms": .integer(Int64(poll.interval / .milliseconds(1))),
                                         "timeout_ms": .integer(Int64(poll.timeout / .milliseconds(1)))])
            }
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
