/// Decodes the action forms `run`, `http`, `uses`/`with`, shared by steps,
/// `revert:`, `check:` and `state:`.
struct ActionDecoder {
    let context: DecodeContext
    let steps: StepDecoder

    enum Role {
        case step, revert, check, state

        var name: String {
            switch self {
            case .step: "a step"
            case .revert: "'revert'"
            case .check: "'check'"
            case .state: "'state'"
            }
        }
    }

    static let httpMethods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

    /// Reads the action key `keyword` (and `with`) from `keys`.
    func decodeOptions(_ keys: inout MappingReader, keyword: String?, role: Role) -> Action? {
        let withNode = keys("with")
        if withNode != nil, keyword != "uses" {
            context.error(keys.keyLocation("with"), "'with' belongs to 'uses'", hint: "pass input to run or http steps through their own fields")
        }
        switch keyword {
        case "run": return keys("run").flatMap(decodeShell)
        case "http": return keys("http").flatMap { decodeHTTP($0, role: role) }
        case "uses": return keys("uses").flatMap { decodePlugin($0, with: withNode) }
        case "group":
            if role != .step {
                context.error(keys.keyLocation("group"), "\(role.name) cannot be a group", hint: "use run, http or uses")
            }
            return nil
        default: return nil
        }
    }

    func decodeRevert(_ node: YAMLNode) -> Revert? {
        if case .scalar(let scalar) = node.kind, scalar.style == .plain, scalar.text == "none" {
            return .irreversible
        }
        return decodeAuxiliary(node, role: .revert).map(Revert.action)
    }

    /// A bare string is a `run:` script; a mapping holds one action plus
    /// `timeout` and `retry`.
    func decodeAuxiliary(_ node: YAMLNode, role: Role) -> AuxiliaryAction? {
        if node.isNull {
            context.error(node.location, "\(role.name) is empty",
                          hint: role == .revert ? "write a command, an action mapping, or 'none' for an irreversible step" : "write a command or an action mapping")
            return nil
        }
        if case .scalar = node.kind {
            return decodeShell(node).map { AuxiliaryAction(action: $0, location: node.location) }
        }
        guard var keys = MappingReader(node, role.name, context: context) else { return nil }
        let present = (StepDecoder.actionKeys).filter { keys.has($0) }
        let timeout = keys("timeout").flatMap { context.duration($0, "timeout") }
        let retry = keys("retry").flatMap { RetryDecoder(context: context).decodePolicy($0, base: steps.defaults.retry) }
        var action: Action?
        if present.count == 1 {
            action = decodeOptions(&keys, keyword: present[0], role: role)
        } else if present.isEmpty {
            context.error(node.location, "\(role.name) has no action", hint: "add one of run, http or uses")
        } else {
            context.error(keys.keyLocation(present[1]), "\(role.name) has both '\(present[0])' and '\(present[1])'", hint: "keep one")
        }
        keys.finish()
        return action.map { AuxiliaryAction(action: $0, timeout: timeout, retry: retry, location: node.location) }
    }

    private func decodeShell(_ node: YAMLNode) -> Action? {
        if case .scalar = node.kind {
            let script = context.template(node, "run")
            if let script { refuseUnsafeValues(script, shell: nil) }
            return script.map { .run(ShellAction(script: $0)) }
        }
        guard var keys = MappingReader(node, "'run'", context: context) else { return nil }
        let script = keys("script").flatMap { context.template($0, "script") }
        if keys("script") == nil {
            context.error(node.location, "'run' needs 'script'", hint: "write run: { script: \"...\" } or run: \"...\"")
        }
        let shell = keys("shell").flatMap { context.string($0, "shell") }
        if let shell, !shell.hasPrefix("/"), !ShellAction.namedShells.contains(shell) {
            context.error(keys.keyLocation("shell"), "'shell' must be bash, sh, python3 or an absolute path, not '\(shell)'",
                          hint: "write for example /usr/bin/zsh")
        }
        let env = keys("env").map { JobDecoder(context: context).decodeEnvironment($0, "env") } ?? []
        let cwd = keys("cwd").flatMap { context.template($0, "cwd") }
        let user = keys("user").flatMap { context.template($0, "user") }
        let group = keys("group").flatMap { context.template($0, "group") }
        let successCodes = keys("success_codes").map { decodeExitCodes($0, "success_codes") }
        let absentCodes = keys("absent_codes").map { decodeExitCodes($0, "absent_codes") }
        let killGrace = keys("kill_grace").flatMap { context.duration($0, "kill_grace") }
        let keepRunning = keys("keep_running").flatMap { context.bool($0, "keep_running") } ?? false
        let limits = keys("limits").flatMap(decodeLimits)
        keys.finish()
        if let script { refuseUnsafeValues(script, shell: shell) }
        return script.map {
            .run(ShellAction(script: $0, shell: shell, env: env, cwd: cwd, user: user, group: group,
                             successCodes: successCodes, absentCodes: absentCodes, killGrace: killGrace,
                             keepRunning: keepRunning, limits: limits))
        }
    }

    private func decodeLimits(_ node: YAMLNode) -> StepLimits? {
        guard var keys = MappingReader(node, "'limits'", context: context) else { return nil }
        let limits = StepLimits(memory: keys("memory").flatMap { context.size($0, "limits.memory", minimum: 1 << 20) },
                                cpu: keys("cpu").flatMap { context.number($0, "limits.cpu", range: 0.01...1024) },
                                pids: keys("pids").flatMap { context.integer($0, "limits.pids", range: 1...1_000_000) })
        keys.finish()
        return limits
    }

    /// Values reach a script as data or not at all (DESIGN.md section 2):
    /// only a POSIX shell can take them, and not in every context.
    private func refuseUnsafeValues(_ script: Template, shell: String?) {
        guard let first = script.expressions.first else { return }
        guard ShellAction(script: script, shell: shell).takesValuesInScript else {
            let reader = shell == "python3" ? "os.environ['NAME']" : "the environment"
            context.error(first.location, "\(shell ?? "this interpreter") cannot take '${{' values in its script text safely",
                          hint: "pass the value through the step's env: { NAME: \"${{ \(first.source) }}\" } and read \(reader)")
            return
        }
        for (expression, place) in zip(script.expressions, ScriptClassifier.places(of: script)) {
            if let refusal = place.refusal { context.error(expression.location, refusal.message, hint: refusal.hint) }
        }
    }

    private func decodeHTTP(_ node: YAMLNode, role: Role) -> Action? {
        guard var keys = MappingReader(node, "'http'", context: context) else { return nil }
        var method = "GET"
        if let methodNode = keys("method"), let text = context.string(methodNode, "method") {
            if Self.httpMethods.contains(text) {
                method = text
            } else {
                context.error(methodNode.location, "unknown HTTP method '\(text)'",
                              hint: Self.httpMethods.contains(text.uppercased()) ? "write '\(text.uppercased())'" : "use one of \(Self.httpMethods.joined(separator: ", "))")
            }
        }
        let url = keys("url").flatMap { context.template($0, "url") }
        if let url { refuseLineBreaks(url.literalParts, at: url.location, "the url") }
        if keys("url") == nil {
            context.error(node.location, "'http' needs 'url'")
        }
        let headers = keys("headers").map { decodeHeaders($0, "headers") } ?? []
        let query = keys("query").map { decodeHeaders($0, "query") } ?? []
        let json = keys("json").map(context.valueTemplate)
        let body = keys("body").flatMap { context.template($0, "body") }
        let form = keys("form").map { decodeHeaders($0, "form") } ?? []
        let bodies = [("json", json != nil), ("body", body != nil), ("form", !form.isEmpty)].filter(\.1).map(\.0)
        if bodies.count > 1 {
            context.error(keys.keyLocation(bodies[1]), "'http' has both '\(bodies[0])' and '\(bodies[1])'", hint: "keep one")
        }
        let auth = keys("auth").flatMap(decodeAuth)
        let expect = keys("expect").map { decodeStatusCodes($0, "expect") } ?? []
        var absent: [Int] = []
        var absentWhen: Expression?
        if let absentNode = keys("absent") {
            if Self.isExpression(absentNode) {
                absentWhen = context.bareExpression(absentNode, "absent")
            } else {
                absent = decodeStatusCodes(absentNode, "absent")
            }
            if role != .check {
                context.error(keys.keyLocation("absent"), "'absent' is only meaningful in a 'check'",
                              hint: "move it to the step's check, where it marks status codes that mean 'not there'")
            }
        }
        let presentWhen = keys("present").flatMap { context.bareExpression($0, "present") }
        if presentWhen != nil, role != .check {
            context.error(keys.keyLocation("present"), "'present' is only meaningful in a 'check'",
                          hint: "move it to the step's check, where it says when the response shows the effect")
        }
        let tls = HTTPAction.TLS(
            caFile: keys("ca_file").flatMap { context.template($0, "ca_file") },
            clientCertificate: keys("client_cert").flatMap { context.template($0, "client_cert") },
            clientKey: keys("client_key").flatMap { context.template($0, "client_key") },
            insecure: keys("insecure").flatMap { context.bool($0, "insecure") } ?? false)
        let unixSocket = keys("unix_socket").flatMap { context.template($0, "unix_socket") }
        let connectTimeout = keys("connect_timeout").flatMap { context.duration($0, "connect_timeout") }
        let timeout = keys("timeout").flatMap { context.duration($0, "timeout") }
        let followRedirects = keys("follow_redirects").flatMap { context.bool($0, "follow_redirects") } ?? false
        let maxResponseBytes = keys("max_response_bytes").flatMap { context.integer($0, "max_response_bytes", range: 1...(1 << 30)) }
        let until = keys("until").flatMap { context.bareExpression($0, "until") }
        let poll = keys("poll").flatMap(decodePoll)
        if poll != nil, until == nil {
            context.error(keys.keyLocation("poll"), "'poll' goes with 'until'", hint: "add until: response.json.status == 'ACTIVE'")
        }
        let paginate = keys("paginate").flatMap(decodePagination)
        if paginate != nil, until != nil {
            context.error(keys.keyLocation("paginate"), "'http' has both 'paginate' and 'until'",
                          hint: "poll one request with until, or gather pages with paginate")
        }
        keys.finish()
        return url.map {
            .http(HTTPAction(method: method, url: $0, headers: headers, query: query, json: json, body: body, form: form,
                             auth: auth, expect: expect, absent: absent, tls: tls, unixSocket: unixSocket,
                             connectTimeout: connectTimeout, timeout: timeout, followRedirects: followRedirects,
                             maxResponseBytes: maxResponseBytes, until: until, poll: until == nil ? nil : (poll ?? HTTPAction.Poll()),
                             presentWhen: presentWhen, absentWhen: absentWhen, paginate: paginate))
        }
    }

    private func decodeAuth(_ node: YAMLNode) -> HTTPAction.Authentication? {
        guard var keys = MappingReader(node, "'auth'", context: context) else { return nil }
        let bearer = keys("bearer").flatMap { context.template($0, "bearer") }
        var basic: HTTPAction.Authentication?
        if let basicNode = keys("basic"), var fields = MappingReader(basicNode, "'basic'", context: context) {
            let user = fields("user").flatMap { context.template($0, "user") }
            let password = fields("password").flatMap { context.template($0, "password") }
            fields.finish()
            if let user, let password { basic = .basic(user: user, password: password) } else {
                context.error(basicNode.location, "'basic' needs 'user' and 'password'")
            }
        }
        let signing = keys("aws_sigv4").flatMap(decodeSigning)
        keys.finish()
        let given = [bearer.map(HTTPAction.Authentication.bearer), basic, signing.map(HTTPAction.Authentication.awsSigV4)].compactMap { $0 }
        let named = ["bearer", "basic", "aws_sigv4"].filter { keys.keys.contains($0) }
        if named.count > 1 {
            context.error(node.location, "'auth' has both '\(named[0])' and '\(named[1])'", hint: "keep one")
            return nil
        }
        if named.isEmpty {
            context.error(node.location, "'auth' needs 'bearer', 'basic' or 'aws_sigv4'", hint: "write auth: { bearer: \"${{ secrets.token }}\" }")
        }
        return given.first
    }

    private func decodeSigning(_ node: YAMLNode) -> HTTPAction.AWSSigning? {
        guard var fields = MappingReader(node, "'aws_sigv4'", context: context) else { return nil }
        let provider = fields("provider").flatMap { context.template($0, "provider") }
        let accessKey = fields("access_key").flatMap { context.template($0, "access_key") }
        let secret = fields("secret").flatMap { context.template($0, "secret") }
        let token = fields("session_token").flatMap { context.template($0, "session_token") }
        fields.finish()
        guard let provider, let accessKey, let secret else {
            context.error(node.location, "'aws_sigv4' needs 'provider', 'access_key' and 'secret'",
                          hint: "write aws_sigv4: { provider: \"aws:amz:us-east-1:ec2\", access_key: \"${{ secrets.aws_key }}\", secret: \"${{ secrets.aws_secret }}\" }")
            return nil
        }
        if provider.expressions.isEmpty, !HTTPAction.AWSSigning.isProvider(provider.literalParts) {
            context.error(provider.location, "'provider' must be aws:amz:REGION:SERVICE, not '\(provider.literalParts)'",
                          hint: "write provider: \"aws:amz:us-east-1:ec2\"")
        }
        for (name, template) in [("access_key", accessKey), ("secret", secret)] where template.expressions.isEmpty {
            context.error(template.location, "'\(name)' is written into the job", hint: "read it from a secret: \"${{ secrets.aws_\(name) }}\"")
        }
        // Only values read from secrets are masked in the journal and logs:
        // a secret passed as a var, or joined with one, would be stored as
        // written. So it must be exactly one secret.
        for (name, template) in [("secret", secret), ("session_token", token)] {
            guard let template, !Self.isOneSecret(template), !(name == "secret" && template.expressions.isEmpty) else { continue }
            context.error(template.location, "'\(name)' must be exactly one secret, or it is journaled as written",
                          hint: "declare it under secrets: and write \"${{ secrets.aws_\(name) }}\", with nothing around it")
        }
        return HTTPAction.AWSSigning(provider: provider, accessKey: accessKey, secret: secret, sessionToken: token)
    }


    private func decodePagination(_ node: YAMLNode) -> HTTPAction.Pagination? {
        guard var keys = MappingReader(node, "'paginate'", context: context) else { return nil }
        let items = keys("items").flatMap { context.bareExpression($0, "items") }
        let next = keys("next").flatMap { context.bareExpression($0, "next") }
        let parameter = keys("param").flatMap { context.string($0, "param") }
        let maxPages = keys("max_pages").flatMap {
            context.integer($0, "max_pages", range: 1...HTTPAction.Pagination.maxPagesLimit)
        } ?? HTTPAction.Pagination.defaultMaxPages
        keys.finish()
        guard let items, let next, let parameter else {
            context.error(node.location, "'paginate' needs 'items', 'next' and 'param'",
                          hint: "write paginate: { items: \"response.json.items\", next: \"response.json.next_token\", param: NextToken }")
            return nil
        }
        if parameter.isEmpty || HTTPAction.breaksALine(parameter) {
            context.error(node.location, "'param' must name a query parameter or form field")
            return nil
        }
        return HTTPAction.Pagination(items: items, next: next, parameter: parameter, maxPages: maxPages)
    }

    /// `${{ secrets.NAME }}` and nothing else.
    private static func isOneSecret(_ template: Template) -> Bool {
        guard let path = template.soleExpression?.root.propertyPath else { return false }
        return path.context == "secrets" && path.names.count == 1 && path.isComplete
    }

    private func decodePoll(_ node: YAMLNode) -> HTTPAction.Poll? {
        guard var keys = MappingReader(node, "'poll'", context: context) else { return nil }
        var poll = HTTPAction.Poll()
        if let interval = keys("interval").flatMap({ context.duration($0, "interval") }) { poll.interval = interval }
        if let timeout = keys("timeout").flatMap({ context.duration($0, "timeout") }) { poll.timeout = timeout }
        keys.finish()
        return poll
    }

    private func decodeHeaders(_ node: YAMLNode, _ field: String) -> [HTTPAction.Header] {
        let pairs = context.templateMap(node, field, keys: "header name", pattern: nil)
        if field == "headers" {
            for pair in pairs { refuseLineBreaks(pair.name + pair.value.literalParts, at: pair.value.location, "the header '\(pair.name)'") }
        }
        return pairs.map { HTTPAction.Header(name: $0.name, value: $0.value) }
    }

    /// A CR, LF or NUL written into a URL or a header would add lines to the
    /// request (the http atom refuses values that bring one at run time).
    private func refuseLineBreaks(_ text: String, at location: SourceLocation, _ what: String) {
        guard HTTPAction.breaksALine(text) else { return }
        context.error(location, "\(what) contains a line break or NUL, which would add lines to the request",
                      hint: "a URL or header is one line: remove it, or encode it in a URL as %0D%0A")
    }

    private func decodeExitCodes(_ node: YAMLNode, _ field: String) -> [Int] {
        let items: [YAMLNode]
        if case .sequence(let list) = node.kind { items = list } else { items = [node] }
        return items.compactMap { context.integer($0, field, range: 0...255) }
    }

    /// `absent: 404` and `absent: [404, 410]` are status codes; any other
    /// scalar is an expression over the response.
    private static func isExpression(_ node: YAMLNode) -> Bool {
        guard case .scalar(let scalar) = node.kind else { return false }
        return Int(scalar.text.trimmingWhitespace) == nil
    }

    private func decodeStatusCodes(_ node: YAMLNode, _ field: String) -> [Int] {
        let items: [YAMLNode]
        if case .sequence(let list) = node.kind { items = list } else { items = [node] }
        return items.compactMap { context.integer($0, field, range: 100...599) }
    }

    private func decodePlugin(_ node: YAMLNode, with withNode: YAMLNode?) -> Action? {
        guard let text = context.string(node, "uses") else { return nil }
        let parts = text.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, NamePattern.stepID.matches(parts[0]),
              parts[1].split(separator: ".").allSatisfy({ NamePattern.stepID.matches(String($0)) })
        else {
            context.error(node.location, "'uses' must name PLUGIN.ATOM, not '\(text)'", hint: "write for example files.write")
            return nil
        }
        var input = ValueTemplate.object([:])
        if let withNode {
            if case .mapping = withNode.kind {
                input = context.valueTemplate(withNode)
            } else if !withNode.isNull {
                context.error(withNode.location, "'with' must be a mapping, not \(withNode.kindName)")
            }
        }
        return .plugin(PluginAction(plugin: parts[0], atom: parts[1], with: input))
    }
}
