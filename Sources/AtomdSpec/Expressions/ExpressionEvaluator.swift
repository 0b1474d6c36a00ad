/// A failure while evaluating an expression at run time (bad JSON for
/// `fromJSON`, a `format` placeholder without argument).
public struct EvaluationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String

    public init(message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// Evaluates expressions against the values known at that moment of a run.
///
/// `contexts` maps the context names (`vars`, `env`, `steps`, `run`...) to
/// their values. Missing properties are null, as in GitHub Actions.
public struct ExpressionEvaluator: Sendable {
    public var contexts: [String: JSONValue]
    /// Where the value of an expression that reads `secrets` goes: a value
    /// derived from a secret (`fromJSON(secrets.creds).password`, a header
    /// built around a token) is masked like the secret itself.
    public var taint: SecretMask?

    public init(contexts: [String: JSONValue], taint: SecretMask? = nil) {
        self.contexts = contexts
        self.taint = taint
    }

    /// Fails when the result is larger than `ExpressionLimits.resultBytes`
    /// (measured, not built: a value read from a context is not copied).
    public func evaluate(_ expression: Expression) throws(EvaluationError) -> JSONValue {
        let value = try evaluate(expression.root)
        let limit = ExpressionLimits.resultBytes
        guard value.interpolatedSize(upTo: limit) <= limit else {
            throw ExpressionLimits.tooLarge("the value of ${{ \(expression.source.prefix(80)) }}", limit: limit)
        }
        if let taint, expression.root.reads(context: "secrets") { taint.add(value) }
        return value
    }

    /// A sole-expression template keeps its value's type; anything else is a string.
    public func render(_ template: Template) throws(EvaluationError) -> JSONValue {
        if let expression = template.soleExpression { return try evaluate(expression) }
        return .string(try renderString(template))
    }

    /// At most `ExpressionLimits.resultBytes`: each part is measured before
    /// it is appended, so a template repeating a large value fails early.
    public func renderString(_ template: Template) throws(EvaluationError) -> String {
        let limit = ExpressionLimits.resultBytes
        var text = ""
        for part in template.parts {
            let room = limit - text.utf8.count
            switch part {
            case .literal(let literal):
                guard literal.utf8.count <= room else { throw ExpressionLimits.tooLarge("the text", limit: limit) }
                text += literal
            case .expression(let expression):
                text += try evaluate(expression).interpolated(room: room, what: "the text")
            }
        }
        return text
    }

    /// A value with its templates rendered, of at most `limit` bytes as
    /// text (`ExpressionLimits.stepInputBytes` unless the caller has less
    /// room left): strings are counted as they are made, so a body that
    /// names a large value a thousand times fails at the limit, not after.
    public func render(_ value: ValueTemplate, limit: Int = ExpressionLimits.stepInputBytes) throws(EvaluationError) -> JSONValue {
        var used = 0
        return try render(value, used: &used, limit: limit)
    }

    private func render(_ value: ValueTemplate, used: inout Int, limit: Int) throws(EvaluationError) -> JSONValue {
        let rendered: JSONValue
        switch value {
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .integer(let number): return .integer(number)
        case .number(let number): return .number(number)
        case .string(let template): rendered = try render(template)
        case .array(let items):
            var out: [JSONValue] = []
            for item in items { out.append(try render(item, used: &used, limit: limit)) }
            return .array(out)
        case .object(let members):
            var out: [String: JSONValue] = [:]
            for (key, member) in members {
                used = used.addingSaturated(key.utf8.count)
                out[key] = try render(member, used: &used, limit: limit)
            }
            return .object(out)
        }
        used = used.addingSaturated(rendered.interpolatedSize(upTo: limit))
        guard used <= limit else { throw ExpressionLimits.tooLarge("the step's input", limit: limit) }
        return rendered
    }

    func evaluate(_ node: ExpressionNode) throws(EvaluationError) -> JSONValue {
        switch node.kind {
        case .literal(let value):
            return value
        case .context(let name):
            return contexts[name] ?? .null
        case .member(let base, let name):
            return try evaluate(base)[name]
        case .index(let base, let key):
            let container = try evaluate(base)
            let key = try evaluate(key)
            if case .array(let items) = container {
                let position = key.numericValue
                guard position.isFinite, position >= 0, position < Double(items.count) else { return .null }
                return items[Int(position)]
            }
            return container[try key.interpolated(room: ExpressionLimits.resultBytes, what: "an index")]
        case .call(let name, let arguments):
            var values: [JSONValue] = []
            for argument in arguments { values.append(try evaluate(argument)) }
            return try ExpressionFunctions.apply(name, values, runStatus: contexts["run"]?["status"] ?? .null)
        case .not(let operand):
            return .bool(!(try evaluate(operand).isTruthy))
        case .binary(.and, let lhs, let rhs):
            let left = try evaluate(lhs)
            return left.isTruthy ? try evaluate(rhs) : left
        case .binary(.or, let lhs, let rhs):
            let left = try evaluate(lhs)
            return left.isTruthy ? left : try evaluate(rhs)
        case .binary(let op, let lhs, let rhs):
            return .bool(Self.compare(op, try evaluate(lhs), try evaluate(rhs)))
        }
    }

    /// Equality: same-typed values compare directly (strings case-sensitively);
    /// mixed types compare as numbers, as GitHub Actions does.
    static func equal(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.string(let a), .string(let b)): return a == b
        case (.array, .array), (.object, .object): return lhs == rhs
        default:
            let a = lhs.numericValue, b = rhs.numericValue
            return !a.isNaN && !b.isNaN && a == b
        }
    }

    static func compare(_ op: ExpressionNode.BinaryOperator, _ lhs: JSONValue, _ rhs: JSONValue) -> Bool {
        switch op {
        case .equal: return equal(lhs, rhs)
        case .notEqual: return !equal(lhs, rhs)
        default: break
        }
        let ordering: Int?
        if case .string(let a) = lhs, case .string(let b) = rhs {
            ordering = a < b ? -1 : (a == b ? 0 : 1)
        } else {
            let a = lhs.numericValue, b = rhs.numericValue
            ordering = (a.isNaN || b.isNaN) ? nil : (a < b ? -1 : (a == b ? 0 : 1))
        }
        guard let ordering else { return false }
        switch op {
        case .less: return ordering < 0
        case .lessOrEqual: return ordering <= 0
        case .greater: return ordering > 0
        case .greaterOrEqual: return ordering >= 0
        default: return false
        }
    }
}
