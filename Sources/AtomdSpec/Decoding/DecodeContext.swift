/// Collects diagnostics while a job file is decoded, so that one pass reports
/// every problem, and provides the strict scalar readers all fields share.
final class DecodeContext {
    let file: String
    let source: SourceText
    private(set) var diagnostics: [Diagnostic] = []

    init(file: String, source: SourceText) {
        self.file = file
        self.source = source
    }

    func error(_ location: SourceLocation, _ message: String, hint: String? = nil) {
        diagnostics.append(Diagnostic(file: file, location: location, message: message, hint: hint))
    }

    /// YAML 1.1 booleans that YAML 1.2 reads as strings; in a typed field they are
    /// refused rather than silently taken as text.
    static let yaml11Booleans: Set<String> = ["yes", "no", "on", "off", "y", "n"]

    func scalar(_ node: YAMLNode, _ field: String, expected: String) -> YAMLNode.Scalar? {
        guard case .scalar(let scalar) = node.kind else {
            error(node.location, "'\(field)' must be \(expected), not \(node.kindName)")
            return nil
        }
        return scalar
    }

    /// Any scalar but null, taken as text.
    func string(_ node: YAMLNode, _ field: String) -> String? {
        guard let scalar = scalar(node, field, expected: "a string") else { return nil }
        if case .null = ScalarValue(scalar) {
            error(node.location, "'\(field)' must be a string, not null")
            return nil
        }
        return scalar.text
    }

    func bool(_ node: YAMLNode, _ field: String) -> Bool? {
        guard let scalar = scalar(node, field, expected: "true or false") else { return nil }
        if case .bool(let value) = ScalarValue(scalar) { return value }
        if Self.yaml11Booleans.contains(scalar.text.lowercased()) {
            error(node.location, "'\(field)' is '\(scalar.text)', which YAML 1.1 reads as a boolean and YAML 1.2 as text",
                  hint: "write true or false")
        } else {
            error(node.location, "'\(field)' must be true or false, not \(node.kindName) '\(scalar.text)'")
        }
        return nil
    }

    func integer(_ node: YAMLNode, _ field: String, range: ClosedRange<Int>) -> Int? {
        guard let scalar = scalar(node, field, expected: "a whole number") else { return nil }
        guard case .integer(let value) = ScalarValue(scalar) else {
            error(node.location, "'\(field)' must be a whole number, not \(node.kindName) '\(scalar.text)'")
            return nil
        }
        guard let int = Int(exactly: value), range.contains(int) else {
            error(node.location, "'\(field)' must be between \(range.lowerBound) and \(range.upperBound), not \(value)")
            return nil
        }
        return int
    }

    /// `512MiB`, `1GiB`, `64KiB`: at least `minimum` bytes, at most 1 TiB.
    func size(_ node: YAMLNode, _ field: String, minimum: Int) -> Int? {
        guard let text = string(node, field) else { return nil }
        let units: [(String, Int)] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            if let number = Int(text.dropLast(suffix.count)), number > 0, number <= (1 << 40) / factor, number * factor >= minimum {
                return number * factor
            }
        }
        error(node.location, "'\(field)' must be a size of at least \(minimum >> 20)MiB such as 512MiB or 2GiB, not '\(text)'")
        return nil
    }

    func number(_ node: YAMLNode, _ field: String, range: ClosedRange<Double>) -> Double? {
        guard let scalar = scalar(node, field, expected: "a number") else { return nil }
        let value: Double
        switch ScalarValue(scalar) {
        case .integer(let integer): value = Double(integer)
        case .float(let float) where float.isFinite: value = float
        default:
            error(node.location, "'\(field)' must be a number, not \(node.kindName) '\(scalar.text)'")
            return nil
        }
        guard range.contains(value) else {
            error(node.location, "'\(field)' must be between \(JSONValue.format(range.lowerBound)) and \(JSONValue.format(range.upperBound)), not \(scalar.text)")
            return nil
        }
        return value
    }

    func duration(_ node: YAMLNode, _ field: String) -> Duration? {
        guard let scalar = scalar(node, field, expected: "a duration such as 10s") else { return nil }
        if let duration = Duration(jobText: scalar.text) {
            guard duration <= Duration.longestInJob else {
                error(node.location, "'\(field)' is \(scalar.text), longer than the longest duration a job may give (\(Duration.longestInJob.jobText))",
                      hint: "use a shorter duration")
                return nil
            }
            return duration
        }
        if case .integer(let bare) = ScalarValue(scalar) {
            error(node.location, "'\(field)' needs a unit", hint: "write \(bare)s, \(bare)m or \(bare)ms")
        } else {
            error(node.location, "'\(field)' is not a duration: '\(scalar.text)'", hint: "write for example 500ms, 10s, 2m, 1h or 1h30m")
        }
        return nil
    }

    /// A string that matches a name pattern (ids, variable names).
    func name(_ node: YAMLNode, _ field: String, pattern: NamePattern) -> String? {
        guard let text = string(node, field) else { return nil }
        guard pattern.matches(text) else {
            error(node.location, "\(field) '\(text)' is not valid: \(pattern.rule)")
            return nil
        }
        return text
    }

    /// One string or a list of strings.
    func stringList(_ node: YAMLNode, _ field: String) -> [(String, SourceLocation)] {
        if case .sequence(let items) = node.kind {
            return items.compactMap { item in string(item, field).map { ($0, item.location) } }
        }
        return string(node, field).map { [($0, node.location)] } ?? []
    }

    func sequence(_ node: YAMLNode, _ field: String) -> [YAMLNode]? {
        guard case .sequence(let items) = node.kind else {
            error(node.location, "'\(field)' must be a list, not \(node.kindName)")
            return nil
        }
        return items
    }

    /// Any YAML value whose strings may hold expressions (`json:`, `with:`).
    func valueTemplate(_ node: YAMLNode) -> ValueTemplate {
        switch node.kind {
        case .scalar(let scalar):
            let value = ScalarValue(scalar)
            if case .string = value { return .string(template(node, scalar)) }
            return ValueTemplate(value.jsonValue)
        case .sequence(let items): return .array(items.map(valueTemplate))
        case .mapping(let pairs):
            var members: [String: ValueTemplate] = [:]
            for pair in pairs { members[pair.key.scalarText] = valueTemplate(pair.value) }
            return .object(members)
        }
    }

    /// A mapping of `NAME: template` (env, outputs, headers), in file order.
    /// Names are checked against `pattern` when one is given.
    func templateMap(_ node: YAMLNode, _ field: String, keys: String, pattern: NamePattern?) -> [(name: String, value: Template)] {
        guard case .mapping(let pairs) = node.kind else {
            error(node.location, "'\(field)' must be a mapping of NAME: value, not \(node.kindName)")
            return []
        }
        return pairs.compactMap { pair in
            let name = pattern.map { self.name(pair.key, keys, pattern: $0) } ?? pair.key.scalarText
            guard let name, let value = template(pair.value, "\(field).\(name)") else { return nil }
            return (name, value)
        }
    }

    /// A scalar field that may contain `${{ }}`.
    func template(_ node: YAMLNode, _ field: String) -> Template? {
        guard let scalar = scalar(node, field, expected: "a string") else { return nil }
        if case .null = ScalarValue(scalar) {
            error(node.location, "'\(field)' must be a string, not null")
            return nil
        }
        return template(node, scalar)
    }

    func template(_ node: YAMLNode, _ scalar: YAMLNode.Scalar) -> Template {
        switch TemplateParser.parse(scalar.text) {
        case .success(let pieces):
            // Only expressions are looked for: asking for one more `${{` than
            // the scalar holds would scan the rest of the file, for every
            // scalar (quadratic in the job's size).
            let needed = pieces.reduce(0) { count, piece in
                if case .expression(let occurrence, _, _, _) = piece { max(count, occurrence + 1) } else { count }
            }
            let openers = needed == 0 ? [] : source.locate("${{", count: needed, from: node.location)
            var parts: [Template.Part] = []
            for piece in pieces {
                switch piece {
                case .literal(let text): parts.append(.literal(text))
                case .expression(let occurrence, let innerOffset, let source, let root):
                    let start = occurrence < openers.count ? openers[occurrence] : node.location
                    parts.append(.expression(Expression(source: source, root: root, location: start.advanced(by: innerOffset))))
                }
            }
            return Template(parts: parts, location: node.location)
        case .failure(let failure):
            let openers = source.locate("${{", count: failure.occurrence + 1, from: node.location)
            let start = openers.count > failure.occurrence ? openers[failure.occurrence] : node.location
            error(start.advanced(by: failure.offset), failure.message, hint: failure.hint)
            return Template(literal: scalar.text, at: node.location)
        }
    }

    /// An expression written without `${{ }}` (`if:`) or with one around all of it.
    func bareExpression(_ node: YAMLNode, _ field: String) -> Expression? {
        guard let scalar = scalar(node, field, expected: "an expression") else { return nil }
        if case .bool(let flag) = ScalarValue(scalar) {
            return Expression(source: scalar.text, root: ExpressionNode(.literal(.bool(flag)), at: 0), location: node.location)
        }
        let trimmed = scalar.text.trimmingWhitespace
        if trimmed.contains("${{") {
            let parsed = template(node, scalar)
            guard let sole = parsed.soleExpression, trimmed.hasPrefix("${{"), trimmed.hasSuffix("}}") else {
                if parsed.expressions.count > 0 || !parsed.parts.isEmpty {
                    error(node.location, "'\(field)' must be one expression", hint: "write it without ${{ }}, e.g. \(field): steps.a.status == 'succeeded'")
                }
                return nil
            }
            return sole
        }
        let quoteOffset = scalar.style == .singleQuoted || scalar.style == .doubleQuoted ? 1 : 0
        let leading = scalar.text.prefix(while: \.isWhitespace).count
        let location = node.location.advanced(by: quoteOffset + leading)
        do {
            let root = try ExpressionParser.parse(trimmed)
            return Expression(source: trimmed, root: root, location: location)
        } catch {
            self.error(location.advanced(by: error.offset), "in '\(field)': \(error.message)")
            return nil
        }
    }
}

extension YAMLNode {
    /// The text of a scalar key; the composer only admits scalar keys.
    var scalarText: String {
        if case .scalar(let scalar) = kind { return scalar.text }
        return ""
    }

    var isNull: Bool {
        if case .scalar(let scalar) = kind, case .null = ScalarValue(scalar) { return true }
        return false
    }
}
