/// A string that may contain `${{ expression }}` parts, parsed once at load
/// time so that every expression error is reported before a run starts.
public struct Template: Sendable, Hashable {
    public enum Part: Sendable, Hashable {
        case literal(String)
        case expression(Expression)
    }

    public var parts: [Part]
    public var location: SourceLocation

    public init(parts: [Part], location: SourceLocation) {
        self.parts = parts
        self.location = location
    }

    public init(literal text: String, at location: SourceLocation) {
        self.init(parts: text.isEmpty ? [] : [.literal(text)], location: location)
    }

    /// A template that is one expression and nothing else keeps the type of
    /// its value (`"${{ vars.size_gb }}"` is the number 10, not "10").
    public var soleExpression: Expression? {
        if parts.count == 1, case .expression(let expression) = parts[0] { return expression }
        return nil
    }

    /// The text when the template has no expressions.
    public var literalText: String? {
        var text = ""
        for part in parts {
            guard case .literal(let literal) = part else { return nil }
            text += literal
        }
        return text
    }

    /// The literal text, expressions left out.
    public var literalParts: String {
        parts.map { part in
            if case .literal(let literal) = part { return literal }
            return ""
        }.joined()
    }

    public var expressions: [Expression] {
        parts.compactMap { part in
            if case .expression(let expression) = part { return expression }
            return nil
        }
    }

    /// The template as written, for plans and error messages.
    public var source: String {
        parts.map { part in
            switch part {
            case .literal(let text): text
            case .expression(let expression): "${{ \(expression.source) }}"
            }
        }.joined()
    }
}

/// A JSON-shaped value whose strings may contain expressions: request bodies,
/// plugin inputs (`with:`).
public indirect enum ValueTemplate: Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(Template)
    case array([ValueTemplate])
    case object([String: ValueTemplate])

    /// A value with no expressions in it.
    public init(_ value: JSONValue) {
        switch value {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .integer(let integer): self = .integer(integer)
        case .number(let number): self = .number(number)
        case .string(let text): self = .string(Template(literal: text, at: .start))
        case .array(let items): self = .array(items.map(ValueTemplate.init))
        case .object(let members): self = .object(members.mapValues(ValueTemplate.init))
        }
    }

    public var templates: [Template] {
        switch self {
        case .null, .bool, .integer, .number: []
        case .string(let template): [template]
        case .array(let items): items.flatMap(\.templates)
        case .object(let members): members.keys.sorted().flatMap { members[$0]?.templates ?? [] }
        }
    }
}
