import AtomdEngine
import AtomdSpec
import Foundation

/// The `http` atom: one request to a remote API, as a step, a revert or a check.
///
/// Success is a status in `expect` (any 2xx when `expect` is empty). As a
/// check, those statuses mean present and `absent` ones (e.g. 404) absent.
/// Every request carries the attempt's `Idempotency-Key`, so an API that
/// honours it returns the first result to a retried or re-run create.
public struct HTTPAtom: Atom {
    public let name = "http"
    /// Its check sends the probe it is given, not the step's own request, so
    /// it does not claim `.check`.
    public let capabilities: AtomCapabilities = []
    let client: HTTPClient

    /// Bodies in log lines are cut here.
    static let logBodyLimit = 1024

    public init(client: HTTPClient = HTTPClient()) {
        self.client = client
    }

    public func execute(_ input: JSONValue, context: AtomContext) async throws -> AtomResult {
        if input["paginate"] != .null { return try await sendPages(input, context: context) }
        let response = try await sendUntil(input, context: context)
        try Self.requireExpected(response, input)
        return AtomResult(response: Self.view(response), details: .object(["status": .integer(Int64(response.status))]))
    }

    /// A status `expect` does not name fails the call, retryable when
    /// another attempt may cure it, as changing nothing when it is a 4xx.
    static func requireExpected(_ response: HTTPResponse, _ input: JSONValue) throws {
        let expected = Self.codes(input["expect"])
        guard Self.isExpected(response.status, input) else {
            throw AtomError("\(Self.method(input)) \(Self.string(input["url"])) returned \(response.status)"
                            + " (expected \(expected.isEmpty ? "2xx" : expected.map(String.init).joined(separator: ", ")))"
                            + Self.bodyNote(response.body),
                            retryable: Self.transientStatuses.contains(response.status),
                            retryAfter: Self.retryAfter(response),
                            changedNothing: (400..<500).contains(response.status))
        }
    }

    /// `paginate`: sends, gathers the page's items, and sends again with the
    /// next token (in the form body when there is one, else the query)
    /// until the token is empty. The answer is the last page's, with
    /// `items` holding every page's items in order.
    private func sendPages(_ input: JSONValue, context: AtomContext) async throws -> AtomResult {
        let pages = input["paginate"]
        let limit = max(1, Int(pages["max_pages"].numericValue.isNaN ? 100 : pages["max_pages"].numericValue))
        guard case .string(let parameter) = pages["param"] else { throw AtomError("paginate: no param", retryable: false) }
        var request = input
        var items: [JSONValue] = []
        var size = 0
        // Tokens seen: an API that hands one back, now or after others,
        // would be asked for the same pages until the cap.
        var seen: Set<String> = []
        for page in 1...limit {
            let response = try await send(request, context: context)
            try Self.requireExpected(response, request)
            var view = Self.view(response)
            let found: [JSONValue] = switch try Self.value("items", of: pages["items"], in: input, on: view) ?? .null {
            case .array(let list): list
            case .null: []
            case let one: [one]
            }
            items += found
            // Each page is at most the response cap, so the sum cannot overflow.
            size += found.reduce(0) { $0 + $1.json.utf8.count }
            guard size <= ExpressionLimits.resultBytes else {
                throw AtomError("paginate: the items of \(page) pages exceed \(ExpressionLimits.resultBytes.byteText); select fewer per page",
                                retryable: false)
            }
            let next = try Self.value("next", of: pages["next"], in: input, on: view) ?? .null
            let token = next == .null ? "" : next.interpolated
            guard !token.isEmpty else {
                if case .object(var fields) = view { fields["items"] = .array(items); view = .object(fields) }
                return AtomResult(response: view, details: .object(["status": .integer(Int64(response.status)), "pages": .integer(Int64(page))]))
            }
            guard seen.insert(token).inserted else {
                throw AtomError("paginate: the API gave a next token it gave before (page \(page)); it would answer the same pages forever",
                                retryable: false)
            }
            let place = request["form"] != .null ? "form" : "query"
            if case .object(var fields) = request, case .object(var values) = fields[place] ?? .object([:]) {
                values[parameter] = .string(token)
                fields[place] = .object(values)
                request = .object(fields)
            }
        }
        throw AtomError("paginate: more than \(limit) pages (max_pages); raise it or filter at the API", retryable: false)
    }

    /// Statuses another attempt may cure; other unexpected statuses fail at once.
    static let transientStatuses: Set<Int> = [408, 429, 502, 503, 504]

    /// `Retry-After` in seconds (the HTTP-date form is treated as absent).
    static func retryAfter(_ response: HTTPResponse) -> Duration? {
        response.header("retry-after").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }.map { .seconds(min(max(0, $0), 3600)) }
    }

    /// Sends, and with `until` keeps sending every `poll.interval` until the
    /// expression holds on the response or `poll.timeout` passes.
    private func sendUntil(_ input: JSONValue, context: AtomContext) async throws -> HTTPResponse {
        guard case .string(let source) = input["until"] else { return try await send(input, context: context) }
        let interval = Duration.milliseconds(input["poll"]["interval_ms"].numericValue.isNaN ? 1000 : Int64(input["poll"]["interval_ms"].numericValue))
        let limit = Duration.milliseconds(input["poll"]["timeout_ms"].numericValue.isNaN ? 300_000 : Int64(input["poll"]["timeout_ms"].numericValue))
        let deadline = ContinuousClock.now + limit
        while true {
            let response = try await send(input, context: context)
            if (try? Self.holds("until", in: input, on: Self.view(response))) == true { return response }
            guard ContinuousClock.now + interval < deadline else {
                throw AtomError("until \(source) did not hold within \(limit.jobText); last status \(response.status)"
                                + Self.bodyNote(response.body))
            }
            try await Task.sleep(for: interval)
        }
    }

    /// With `until`, polls like a step; a poll that never holds cannot tell.
    /// Present carries the response, from which a step settled by this
    /// check computes its declared outputs.
    public func check(_ input: JSONValue, outputs: JSONValue?, context: AtomContext) async throws -> CheckResult {
        let response: HTTPResponse
        do {
            response = try await sendUntil(input, context: context)
        } catch let error as AtomError {
            return .unknown(error.message)
        }
        if Self.codes(input["absent"]).contains(response.status) { return .absent }
        guard Self.isExpected(response.status, input) else {
            return .unknown("\(Self.method(input)) \(Self.string(input["url"])) returned \(response.status)")
        }
        let view = Self.view(response)
        do {
            let absent = try Self.holds("absent_when", in: input, on: view)
            let present = try Self.holds("present_when", in: input, on: view)
            // `absent` wins; `present`, when given, decides the rest.
            if absent == true || present == false { return .absent }
            return .present(outputs: nil, response: view)
        } catch let error as AtomError {
            return .unknown(error.message)
        }
    }

    /// A `state:` probe: the response's JSON object, or its text as
    /// `KEY=VALUE` lines.
    public func state(_ input: JSONValue, context: AtomContext) async throws -> JSONValue {
        let response = try await send(input, context: context)
        guard Self.isExpected(response.status, input) else {
            throw AtomError("\(Self.method(input)) \(Self.string(input["url"])) returned \(response.status)" + Self.bodyNote(response.body))
        }
        let json = Self.view(response)["json"]
        if case .object = json { return json }
        return try StateText.parse(String(decoding: response.body, as: UTF8.self))
    }

    private func send(_ input: JSONValue, context: AtomContext) async throws -> HTTPResponse {
        let request = try Self.request(input, idempotencyKey: context.idempotencyKey)
        if request.insecure { context.log("warning: TLS verification is off for \(request.url) (insecure: true)") }
        let started = ContinuousClock.now
        // The URL is cut like a body: a page token from an API can be long.
        context.log("\(request.method) \(Self.truncated(Array(request.url.utf8)))" + (request.body.map { " " + Self.truncated($0) } ?? ""))
        do {
            let response = try await client.send(request)
            let elapsed = Int((ContinuousClock.now - started) / .milliseconds(1))
            let body = response.body.isEmpty ? ""
                : context.withholdsOutputs ? " (body withheld: the step masks outputs)" : " " + Self.truncated(response.body)
            context.log("\(response.status) in \(elapsed) ms" + body)
            return response
        } catch {
            switch error.kind {
            case .cancelled: throw CancellationError()
            case .connection, .timeout:
                // A `where` would bind to the last pattern only: tested here.
                guard error.requestSent else { throw AtomError(error.message) }
                throw AtomError(error.message + " (the request was sent; whether it took effect is unknown)", outcomeUnknown: true)
            case .tls, .tooLarge, .other: throw AtomError(error.message, retryable: false)
            }
        }
    }

    /// `response.status`, `.headers`, `.json` (when the body is JSON), `.text`.
    static func view(_ response: HTTPResponse) -> JSONValue {
        var headers: [String: JSONValue] = [:]
        for header in response.headers where headers[header.name] == nil { headers[header.name] = .string(header.value) }
        let text = String(decoding: response.body, as: UTF8.self)
        let json = (try? JSONDecoder().decode(JSONValue.self, from: Data(response.body))) ?? .null
        return .object(["status": .integer(Int64(response.status)), "headers": .object(headers), "json": json, "text": .string(text)])
    }

    /// At most `logBodyLimit` bytes, on one line: an answer's line breaks
    /// are shown as `\n`, so that it cannot print lines that look like
    /// atomd's own ("run … succeeded") in a log or an error.
    static func truncated(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes.prefix(logBodyLimit), as: UTF8.self)
            .replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
        return bytes.count > logBodyLimit ? text + "… (\(bytes.count) bytes)" : text
    }

    private static func bodyNote(_ body: [UInt8]) -> String {
        body.isEmpty ? "" : ": " + truncated(body)
    }
}
