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
    ]

    /// Run states in which `failure()` is true.
    static let failedRunStates: Set<String> = ["failed", "reverting", "reverted", "revert_failed"]

    static func apply(_ name: String, _ arguments: [JSONValue], runStatus: JSONValue) throws(EvaluationError) -> JSONValue {
        switch (name, arguments.count) {
        case ("contains", 2):
            if case .array(let items) = arguments[0] { return .bool(items.contains { ExpressionEvaluator.equal($0, arguments[1]) }) }
            return .bool(arguments[0].interpolated.contains(arguments[1].interpolated))
        case ("startsWith", 2):
            return .bool(arguments[0].interpolated.hasPrefix(arguments[1].interpolated))
        case ("endsWith", 2):
            return .bool(arguments[0].interpolated.hasSuffix(arguments[1].interpolated))
        case ("format", _) where !arguments.isEmpty:
            return .string(try format(arguments[0].interpolated, Array(arguments.dropFirst())))
        case ("toJSON", 1):
            return .string(arguments[0].json)
        case ("fromJSON", 1):
            return try fromJSON(arguments[0].interpolated)
        case ("success", 0):
            return .bool(!failedRunStates.contains(runStatus.interpolated) && runStatus.interpolated != "cancelled")
        case ("failure", 0):
            return .bool(failedRunStates.contains(runStatus.interpolated))
        case ("always", 0):
            return .bool(true)
        case ("url_raw", 1):
            // The value itself: an http: url inserts it without encoding.
            return .string(arguments[0].interpolated)
        default:
            throw EvaluationError(message: "unknown function or wrong number of arguments: \(name)/\(arguments.count)")
        }
    }

    /// `format('{0}-{1}', a, b)`; `{{` and `}}` stand for literal braces.
    static func format(_ pattern: String, _ arguments: [JSONValue]) throws(EvaluationError) -> String {
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
                out += arguments[index].interpolated
                chars = after.dropFirst()
            } else {
                out.append(char)
                chars = chars.dropFirst()
            }
        }
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
