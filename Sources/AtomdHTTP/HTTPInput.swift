import AtomdEngine
import AtomdSpec
import Foundation

/// The `http` atom's input: built from an `http:` action (a step's, or its
/// `revert:`, `check:` or `state:`), journaled, and read back into a request.
extension HTTPAtom {
    public func input(for action: Action, values: ActionValues) throws(EvaluationError) -> JSONValue {
        guard case .http(let http) = action else { throw EvaluationError(message: "the http atom takes an http: action") }
        func strings(_ pairs: [HTTPAction.Header]) throws(EvaluationError) -> [String: JSONValue] {
            var out: [String: JSONValue] = [:]
            for pair in pairs { out[pair.name] = .string(try values.string(pair.value)) }
            return out
        }
        var input: [String: JSONValue] = [
            "method": .string(http.method),
            "url": .string(try URLTemplate.render(http.url, values: values)),
            "headers": .object(try strings(http.headers)),
            "query": .object(try strings(http.query)),
            "expect": .array(http.expect.map { .integer(Int64($0)) }),
            "absent": .array(http.absent.map { .integer(Int64($0)) }),
        ]
        if let json = http.json { input["json"] = try values.render(json) }
        if let body = http.body { input["body"] = .string(try values.string(body)) }
        if !http.form.isEmpty { input["form"] = .object(try strings(http.form)) }
        switch http.auth {
        case .bearer(let token)?:
            input["auth"] = .object(["bearer": .string(try values.string(token))])
        case .basic(let user, let password)?:
            input["auth"] = .object(["basic": .object(["user": .string(try values.string(user)),
                                                       "password": .string(try values.string(password))])])
        case .awsSigV4(let signing)?:
            var fields: [String: JSONValue] = ["provider": .string(try values.string(signing.provider)),
                                               "access_key": .string(try values.string(signing.accessKey)),
                                               "secret": .string(try values.string(signing.secret))]
            if let token = signing.sessionToken { fields["session_token"] = .string(try values.string(token)) }
            input["auth"] = .object(["aws_sigv4": .object(fields)])
        case nil: break
        }
        let files: [(String, Template?)] = [("ca_file", http.tls.caFile), ("client_cert", http.tls.clientCertificate),
                                            ("client_key", http.tls.clientKey), ("unix_socket", http.unixSocket)]
        for (key, template) in files {
            if let template { input[key] = .string(try values.string(template)) }
        }
        if http.tls.insecure { input["insecure"] = .bool(true) }
        if http.followRedirects { input["follow_redirects"] = .bool(true) }
        if let limit = http.maxResponseBytes { input["max_response_bytes"] = .integer(Int64(limit)) }
        if let timeout = http.connectTimeout { input["connect_timeout_ms"] = .integer(Int64(timeout / .milliseconds(1))) }
        if let timeout = http.timeout { input["timeout_ms"] = .integer(Int64(timeout / .milliseconds(1))) }
        if let until = http.until, let poll = http.poll {
            input["until"] = .string(until.source)
            input["poll"] = .object(["interval_ms": .integer(Int64(poll.interval / .milliseconds(1))),
                                     "timeout_ms": .integer(Int64(poll.timeout / .milliseconds(1)))])
        }
        if let present = http.presentWhen { input["present_when"] = .string(present.source) }
        if let absent = http.absentWhen { input["absent_when"] = .string(absent.source) }
        if let pages = http.paginate {
            input["paginate"] = .object(["items": .string(pages.items.source), "next": .string(pages.next.source),
                                         "param": .string(pages.parameter), "max_pages": .integer(Int64(pages.maxPages))])
        }
        if http.until != nil || http.presentWhen != nil || http.absentWhen != nil || http.paginate != nil {
            // Evaluated by the atom on each response, beside `response`:
            // the job's vars, and for a check the step's outputs and key,
            // and the other steps (only a check's input, never journaled,
            // carries those).
            let isCheck = http.presentWhen != nil || http.absentWhen != nil
            var contexts: [String: JSONValue] = [:]
            for name in ["vars", "outputs", "step"] + (isCheck ? ["steps"] : []) { contexts[name] = values.evaluator.contexts[name] }
            input["contexts"] = .object(contexts)
        }
        return .object(input)
    }

    /// An expression of the input (`until`, `present_when`, `absent_when`)
    /// evaluated on `response`. Nil when the input has none.
    static func holds(_ key: String, in input: JSONValue, on response: JSONValue) throws -> Bool? {
        try value(key, of: input[key], in: input, on: response)?.isTruthy
    }

    /// `source` (an expression's text from the input) evaluated on
    /// `response` with the input's contexts. Nil when there is none.
    static func value(_ key: String, of source: JSONValue, in input: JSONValue, on response: JSONValue) throws -> JSONValue? {
        guard case .string(let source) = source else { return nil }
        let root: ExpressionNode
        do {
            root = try ExpressionParser.parse(source)
        } catch {
            throw AtomError("\(key): \(error.message)", retryable: false)
        }
        var contexts: [String: JSONValue] = [:]
        if case .object(let given) = input["contexts"] { contexts = given }
        // Inputs journaled before `contexts` carried the vars alone.
        if contexts.isEmpty, input["until_vars"] != .null { contexts["vars"] = input["until_vars"] }
        contexts["response"] = response
        let evaluator = ExpressionEvaluator(contexts: contexts)
        do {
            return try evaluator.evaluate(Expression(source: source, root: root, location: .start))
        } catch {
            throw AtomError("\(key == "present_when" ? "present" : key == "absent_when" ? "absent" : key) \(source): \(error.message)",
                            retryable: false)
        }
    }

    /// Builds the request from the input `input(for:values:)` built.
    static func request(_ input: JSONValue, idempotencyKey: String) throws -> HTTPRequest {
        let url = string(input["url"])
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw AtomError("the url must start with http:// or https://, not '\(url.prefix(60))'")
        }
        var headers: [(name: String, value: String)] = []
        if case .object(let fields) = input["headers"] {
            for name in fields.keys.sorted() { headers.append((name, fields[name]?.interpolated ?? "")) }
        }
        var body: [UInt8]?
        if input["json"] != .null {
            body = Array(input["json"].json.utf8)
            if !headers.contains(where: { $0.name.lowercased() == "content-type" }) {
                headers.append(("Content-Type", "application/json"))
            }
        } else if case .object(let fields) = input["form"] {
            body = Array(query(.object(fields), after: "?").dropFirst().utf8)
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        } else if case .string(let text) = input["body"] {
            body = Array(text.utf8)
        }
        if let authorization = authorization(input["auth"]) { headers.append(("Authorization", authorization)) }
        let signing = Self.signing(input["auth"]["aws_sigv4"])
        if let signing, !HTTPAction.AWSSigning.isProvider(signing.provider) {
            throw AtomError("aws_sigv4: the provider must be aws:amz:REGION:SERVICE, not '\(signing.provider.prefix(60))'",
                            retryable: false, changedNothing: true)
        }
        if let token = signing?.sessionToken { headers.append(("X-Amz-Security-Token", token)) }
        // A check has no key: a probe changes nothing, and a strict API
        // must not tie its key to a GET.
        if !idempotencyKey.isEmpty, !headers.contains(where: { $0.name.lowercased() == "idempotency-key" }) {
            headers.append(("Idempotency-Key", idempotencyKey))
        }
        if !headers.contains(where: { $0.name.lowercased() == "accept" }) {
            headers.append(("Accept", "application/json, */*"))
        }
        try refuseLineBreaks(url: url, headers: headers)
        func milliseconds(_ key: String) -> Duration? {
            if case .integer(let value) = input[key] { return .milliseconds(value) }
            return nil
        }
        func text(_ key: String) -> String? {
            if case .string(let value) = input[key] { return value }
            return nil
        }
        var limit = 16 << 20
        if case .integer(let value) = input["max_response_bytes"] { limit = Int(value) }
        return HTTPRequest(method: method(input), url: url + query(input["query"], after: url), headers: headers, body: body,
                           timeout: milliseconds("timeout_ms"), connectTimeout: milliseconds("connect_timeout_ms"),
                           followRedirects: input["follow_redirects"] == .bool(true), maxResponseBytes: limit,
                           unixSocket: text("unix_socket"), caFile: text("ca_file"), clientCertificate: text("client_cert"),
                           clientKey: text("client_key"), insecure: input["insecure"] == .bool(true),
                           awsSigV4: signing.map { HTTPRequest.AWSSigning(provider: $0.provider, accessKey: $0.accessKey, secret: $0.secret) })
    }

    /// The signing fields of `auth.aws_sigv4`.
    static func signing(_ fields: JSONValue) -> (provider: String, accessKey: String, secret: String, sessionToken: String?)? {
        guard case .string(let provider) = fields["provider"], case .string(let key) = fields["access_key"],
              case .string(let secret) = fields["secret"] else { return nil }
        var token: String?
        if case .string(let given) = fields["session_token"] { token = given }
        return (provider, key, secret, token)
    }

    /// A CR, LF or NUL in a header or the URL would end the line libcurl
    /// writes and start another: a value (an output, a variable) could add
    /// headers of its own or split the request. Refused before anything is
    /// sent, as a failure that changed nothing.
    static func refuseLineBreaks(url: String, headers: [(name: String, value: String)]) throws {
        let breaks = HTTPAction.breaksALine
        if breaks(url) {
            throw AtomError("the url contains a line break or NUL; a URL must be one line (encode such characters as %0D, %0A)",
                            retryable: false, changedNothing: true)
        }
        for (name, value) in headers where breaks(name) || breaks(value) {
            let which = breaks(name) ? "name" : "value"
            throw AtomError("the header \(String(name.prefix(60)).debugDescription) has a line break or NUL in its \(which); "
                            + "a header is one line (a value from an output or a variable must be checked or encoded first)",
                            retryable: false, changedNothing: true)
        }
    }

    static func authorization(_ auth: JSONValue) -> String? {
        if case .string(let token) = auth["bearer"] { return "Bearer \(token)" }
        if case .string(let user) = auth["basic"]["user"], case .string(let password) = auth["basic"]["password"] {
            return "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
        }
        return nil
    }

    static func query(_ value: JSONValue, after url: String) -> String {
        guard case .object(let fields) = value, !fields.isEmpty else { return "" }
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+?#")
        let pairs = fields.keys.sorted().map { key in
            let name = key.addingPercentEncoding(withAllowedCharacters: allowed) ?? key
            let text = fields[key]?.interpolated ?? ""
            return "\(name)=\(text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text)"
        }
        return (url.contains("?") ? "&" : "?") + pairs.joined(separator: "&")
    }

    static func method(_ input: JSONValue) -> String {
        if case .string(let method) = input["method"] { return method }
        return "GET"
    }

    static func string(_ value: JSONValue) -> String {
        if case .string(let text) = value { return text }
        return ""
    }

    /// A status in `expect`, or any 2xx when `expect` is empty.
    static func isExpected(_ status: Int, _ input: JSONValue) -> Bool {
        let expected = codes(input["expect"])
        return expected.isEmpty ? (200..<300).contains(status) : expected.contains(status)
    }

    static func codes(_ value: JSONValue) -> [Int] {
        guard case .array(let items) = value else { return [] }
        return items.compactMap { if case .integer(let code) = $0 { Int(code) } else { nil } }
    }
}
