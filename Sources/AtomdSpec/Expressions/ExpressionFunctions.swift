import Foundation

/// The built-in functions of the expression language. Validation checks
/// names and argument counts against this table; evaluation calls `apply`.
public enum ExpressionFunctions {
    public struct Signature: Sendable {
        public var minArguments: Int
        public var maxArguments: Int
        public var usage: String
    }

    public static let signatures: [String: Signature] = [
        "contains": Signature(minArguments: 2, maxArguments: 2, usage: "contains(haystack, needle)"),
        "startsWith": Signature(minArguments: 2, maxArguments: 2, usage: "startsWith(text, prefix)"),
        "endsWith": Signature(minArguments: 2, maxArguments: 2, usage: "endsWith(text, suffix)"),
        "format": Signature(minArguments: 1, maxArguments: 64, usage: "format('{0} {1}', a, b)"),
        "toJSON": Signature(minArguments: 1, maxArguments: 1, usage: "toJSON(value)"),
        "fromJSON": Signature(minArguments: 1, maxArguments: 1, usage: "fromJSON(text)"),
        "success": Signature(minArguments: 0, maxArguments: 0, usage: "success()"),
        "failure": Signature(minArguments: 0, maxArguments: 0, usage: "failure()"),
        "always": Signature(minArguments: 0, maxArguments: 0, usage: "always()"),
        "url_raw": Signature(minArguments: 1, maxArguments: 1, usage: "url_raw(value)"),
        "xpath": Signature(minArguments: 2, maxArguments: 2, usage: "xpath(response.text, '//ns:instanceId')"),
    ]

    /// Run states in which `failure()` is true.
    static let failedRunStates: Set<String> = ["failed", "reverting", "reverted", "revert_failed"]

    /// Every text a function builds (an object's JSON for `contains`, the
    /// result of `format` and `toJSON`) is measured against
    /// `ExpressionLimits.resultBytes` before it is built.
    static func apply(_ name: String, _ arguments: [JSONValue], runStatus: JSONValue) throws(EvaluationError) -> JSONValue {
        let limit = ExpressionLimits.resultBytes
        func text(_ index: Int) throws(EvaluationError) -> String {
            try arguments[index].interpolated(room: limit, what: "\(name): argument \(index + 1) as text")
        }
        switch (name, arguments.count) {
        case ("contains", 2):
            if case .array(let items) = arguments[0] { return .bool(items.contains { ExpressionEvaluator.equal($0, arguments[1]) }) }
            return .bool(try text(0).contains(try text(1)))
        case ("startsWith", 2):
            return .bool(try text(0).hasPrefix(try text(1)))
        case ("endsWith", 2):
            return .bool(try text(0).hasSuffix(try text(1)))
        case ("format", _) where !arguments.isEmpty:
            return .string(try format(try text(0), Array(arguments.dropFirst()), limit: limit))
        case ("toJSON", 1):
            guard arguments[0].jsonSize(upTo: limit) <= limit else { throw ExpressionLimits.tooLarge("toJSON", limit: limit) }
            let json = arguments[0].json
            guard json.utf8.count <= limit else { throw ExpressionLimits.tooLarge("toJSON", limit: limit) }
            return .string(json)
        case ("fromJSON", 1):
            return try fromJSON(try text(0))
        case ("success", 0):
            return .bool(!failedRunStates.contains(runStatus.interpolated) && runStatus.interpolated != "cancelled")
        case ("failure", 0):
            return .bool(failedRunStates.contains(runStatus.interpolated))
        case ("always", 0):
            return .bool(true)
        case ("xpath", 2):
            let document: String
            if case .string(let whole) = arguments[0] { document = whole } else {
                document = try arguments[0].interpolated(room: XPath.documentLimit, what: "xpath: the document")
            }
            return try XPath.evaluate(document, try text(1))
        case ("url_raw", 1):
            // The value itself: an http: url inserts it without encoding.
            return .string(arguments[0].interpolated)
        default:
            throw EvaluationError(message: "unknown function or wrong number of arguments: \(name)/\(arguments.count)")
        }
    }

    /// `format('{0}-{1}', a, b)`; `{{` and `}}` stand for literal braces.
    /// Each argument is measured before it is appended: `'{0}'` repeated
    /// 1,300 times over a 900 KB value stops at `limit`, not at 1.2 GB.
    static func format(_ pattern: String, _ arguments: [JSONValue], limit: Int = ExpressionLimits.resultBytes) throws(EvaluationError) -> String {
        var out = ""
        var chars = Substring(pattern)
        while let char = chars.first {
            if chars.hasPrefix("{{") || chars.hasPrefix("}}") {
                out.append(char)
                chars = chars.dropFirst(2)
            } else if char == "{" {
                let digits = chars.dropFirst().prefix(while: \.isASCIIDigit)
                let after = chars.dropFirst(1 + digits.count)
                guard !digits.isEmpty, after.first == "}", let index = Int(digits) else {
                    throw EvaluationError(message: "format: '{' must start a placeholder such as {0}; write {{ for a literal brace")
                }
                guard index < arguments.count else {
                    throw EvaluationError(message: "format: placeholder {\(index)} has no argument (\(arguments.count) given)")
                }
                out += try arguments[index].interpolated(room: limit - out.utf8.count, what: "format")
                chars = after.dropFirst()
            } else {
                out.append(char)
                chars = chars.dropFirst()
            }
        }
        // The pattern's own text is at most `limit` (it is a value), so the
        // literal part of the result is bounded; checked as a whole here.
        guard out.utf8.count <= limit else { throw ExpressionLimits.tooLarge("format", limit: limit) }
        return out
    }

    static func fromJSON(_ text: String) throws(EvaluationError) -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        } catch {
            throw EvaluationError(message: "fromJSON: the text is not valid JSON")
        }
    }
}
