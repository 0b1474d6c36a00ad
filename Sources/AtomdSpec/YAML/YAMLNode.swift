/// A YAML node with the position it was written at. The job decoder works on
/// this tree rather than on `Decodable`, because every error must name a line
/// and column and `Decodable` only knows coding paths.
public struct YAMLNode: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case scalar(Scalar)
        case sequence([YAMLNode])
        case mapping([Pair])
    }

    public struct Pair: Sendable, Hashable {
        public var key: YAMLNode
        public var value: YAMLNode
    }

    public struct Scalar: Sendable, Hashable {
        public enum Style: Sendable, Hashable {
            case plain, singleQuoted, doubleQuoted, literal, folded
        }

        public var text: String
        public var style: Style
        /// An explicit core-schema tag (`!!str`), already checked to be one of
        /// the allowed ones.
        public var tag: String?

        public init(text: String, style: Style, tag: String? = nil) {
            self.text = text
            self.style = style
            self.tag = tag
        }
    }

    public var kind: Kind
    public var location: SourceLocation

    public init(_ kind: Kind, at location: SourceLocation) {
        self.kind = kind
        self.location = location
    }

    /// The node as JSON, scalars read by the core schema. Keys are the
    /// composer's scalar keys, so nothing is lost.
    public var jsonValue: JSONValue {
        switch kind {
        case .scalar(let scalar):
            return ScalarValue(scalar).jsonValue
        case .sequence(let items):
            return .array(items.map(\.jsonValue))
        case .mapping(let pairs):
            var members: [String: JSONValue] = [:]
            for pair in pairs {
                if case .scalar(let key) = pair.key.kind { members[key.text] = pair.value.jsonValue }
            }
            return .object(members)
        }
    }

    /// What the user would call this kind of node in an error message.
    public var kindName: String {
        switch kind {
        case .scalar(let scalar):
            switch ScalarValue(scalar) {
            case .null: return "null"
            case .bool: return "a boolean"
            case .integer, .float: return "a number"
            case .string: return "a string"
            }
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }
}

/// The YAML 1.2 core-schema reading of a scalar. YAML 1.1 spellings such as
/// `yes`, `on` or `0x` octals are strings here; typed fields reject them with
/// a hint instead of silently converting.
public enum ScalarValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int64)
    case float(Double)
    case string(String)

    public init(_ scalar: YAMLNode.Scalar) {
        let text = scalar.text
        if let tag = scalar.tag {
            switch tag {
            case "tag:yaml.org,2002:str": self = .string(text)
            case "tag:yaml.org,2002:null": self = .null
            case "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float":
                self = ScalarValue.plain(text)
            default: self = .string(text)
            }
            return
        }
        guard scalar.style == .plain else {
            self = .string(text)
            return
        }
        self = ScalarValue.plain(text)
    }

    public var jsonValue: JSONValue {
        switch self {
        case .null: .null
        case .bool(let flag): .bool(flag)
        case .integer(let integer): .integer(integer)
        case .float(let float): .number(float)
        case .string(let text): .string(text)
        }
    }

    static func plain(_ text: String) -> ScalarValue {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .float(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .float(-.infinity)
        case ".nan", ".NaN", ".NAN": return .float(.nan)
        default: break
        }
        if let integer = parseInteger(text) { return .integer(integer) }
        if isDecimalFloat(text), let value = Double(text) { return .float(value) }
        return .string(text)
    }

    private static func parseInteger(_ text: String) -> Int64? {
        if text.hasPrefix("0x") { return Int64(text.dropFirst(2), radix: 16) }
        if text.hasPrefix("0o") { return Int64(text.dropFirst(2), radix: 8) }
        var digits = Substring(text)
        if digits.first == "-" || digits.first == "+" { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit) else { return nil }
        return Int64(text)
    }

    /// The core schema's float pattern: `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`.
    private static func isDecimalFloat(_ text: String) -> Bool {
        var chars = Substring(text)
        if chars.first == "-" || chars.first == "+" { chars = chars.dropFirst() }
        let mantissa = chars.prefix { $0 != "e" && $0 != "E" }
        let exponent = chars.dropFirst(mantissa.count)
        let parts = mantissa.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard !mantissa.isEmpty, parts.count <= 2,
              parts.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) }),
              parts.contains(where: { !$0.isEmpty })
        else { return false }
        if exponent.isEmpty { return true }
        var expDigits = exponent.dropFirst()
        if expDigits.first == "-" || expDigits.first == "+" { expDigits = expDigits.dropFirst() }
        return !expDigits.isEmpty && expDigits.allSatisfy(\.isASCIIDigit)
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
