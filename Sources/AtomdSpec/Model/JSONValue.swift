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

    /// Nil for null: a journaled value that was unknown.
    public var unlessNull: JSONValue? {
        self == .null ? nil : self
    }

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
        var bytes: [UInt8] = []
        write(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the compact form, keys sorted. Works on UTF-8 bytes: building
    /// a String scalar by scalar costs more than the rest of a plugin call.
    func write(into out: inout [UInt8]) {
        switch self {
        case .null: out += "null".utf8
        case .bool(let value): out += (value ? "true" : "false").utf8
        case .integer(let value): out += String(value).utf8
        case .number(let value): out += (value.isFinite ? JSONValue.format(value) : "null").utf8
        case .string(let text): JSONValue.quote(text, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.quote(key, into: &out)
                out.append(UInt8(ascii: ":"))
                (members[key] ?? .null).write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    public static func format(_ value: Double) -> String {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    static func quote(_ text: String) -> String {
        var out: [UInt8] = []
        quote(text, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Bytes from 0x80 up are parts of multi-byte scalars and pass as they are.
    static func quote(_ text: String, into out: inout [UInt8]) {
        let backslash = UInt8(ascii: "\\")
        out.reserveCapacity(out.count + text.utf8.count + 2)
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            let escaped: UInt8? = switch byte {
            case UInt8(ascii: "\""), backslash: byte
            case UInt8(ascii: "\n"): UInt8(ascii: "n")
            case UInt8(ascii: "\r"): UInt8(ascii: "r")
            case UInt8(ascii: "\t"): UInt8(ascii: "t")
            case 0..<0x20: UInt8(ascii: "u")
            default: nil
            }
            guard let escaped else {
                out.append(byte)
                continue
            }
            out.append(backslash)
            out.append(escaped)
            if escaped == UInt8(ascii: "u") {
                out.append(contentsOf: "00".utf8)
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0xF)])
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}

extension String {
    var trimmingWhitespace: String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
