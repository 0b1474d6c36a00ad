import AtomdSpec

/// The values an atom builds its input from: the expressions' contexts at
/// that moment and the step's environment. Each atom owns its input's shape
/// (`Atom.input(for:values:)`); the engine only supplies the values.
public struct ActionValues: Sendable {
    public let evaluator: ExpressionEvaluator
    /// Job env, then step env, as `NAME: value`.
    public let environment: [EnvironmentVariable]

    public init(evaluator: ExpressionEvaluator, environment: [EnvironmentVariable]) {
        self.evaluator = evaluator
        self.environment = environment
    }

    /// A template rendered as text.
    public func string(_ template: Template) throws(EvaluationError) -> String {
        try evaluator.renderString(template)
    }

    /// A JSON value whose strings may hold templates.
    public func render(_ value: ValueTemplate) throws(EvaluationError) -> JSONValue {
        try evaluator.render(value)
    }
}
