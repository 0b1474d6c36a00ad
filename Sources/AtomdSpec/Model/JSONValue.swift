/// A JSON-shaped value: what variables, request bodies, plugin inputs and
/// expression results are made of.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Member access as expressions see it: missing members are null.
    public subscript(key: String) -> JSONValue {
        if case .object(let members) = self { return members[key] ?? .null }
        return .null
    }

    /// The value as a number, following the coercions of GitHub Actions
    /// expressions: null is 0, booleans 0 or 1, strings parsed, the rest NaN.
    public var numericValue: Double {
        switch self {
        case .null: 0
        case .bool(let value): value ? 1 : 0
        case .integer(let value): Double(value)
        case .number(let value): value
        case .string(let text):
            text.trimmingWhitespace.isEmpty ? 0 : Double(text.trimmingWhitespace) ?? .nan
        case .array, .object: .nan
        }
    }

    /// Falsy are `false`, `0`, `""`, `null` and NaN; everything else is truthy.
    public var isTruthy: Bool {
        switch self {
        case .null: false
        case .bool(let value): value
        case .integer(let value): value != 0
        case .number(let value): value != 0 && !value.isNaN
        case .string(let text): !text.isEmpty
        case .array, .object: true
        }
    }

    /// The text inserted when the value is interpolated into a string.
    public var interpolated: String {
        switch self {
        case .null: ""
        case .bool(let value): value ? "true" : "false"
        case .integer(let value): String(value)
        case .number(let value): JSONValue.format(value)
        case .string(let text): text
        case .array, .object: json
        }
    }

    /// Compact JSON with sorted keys, so equal values always print the same.
    public var json: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .integer(let value): return String(value)
        case .number(let value): return value.isFinite ? JSONValue.format(value) : "null"
        case .string(let text): return JSONValue.quote(text)
        case .array(let items): return "[" + items.map(\.json).joined(separator: ",") + "]"
        case .object(let members):
            let body = members.keys.sorted().map { "\(JSONValue.quote($0)):\(members[$0]?.json ?? "null")" }
            return "{" + body.joined(separator: ",") + "}"
        }
    }

    static func format(_ value: Double) -> String {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

extension String {
    var trimmingWhitespace: String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
