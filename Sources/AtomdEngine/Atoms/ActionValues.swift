import AtomdSpec
import Synchronization

/// The values an atom builds its input from: the expressions' contexts at
/// that moment and the step's environment. Each atom owns its input's shape
/// (`Atom.input(for:values:)`); the engine only supplies the values.
///
/// Everything rendered through one `ActionValues` is one step's input and
/// counts against `ExpressionLimits.stepInputBytes`: an atom asks for its
/// parts one by one (script, each `env:` value, body), so the total is kept
/// here, and each part is given only the room that is left.
public struct ActionValues: Sendable {
    public let evaluator: ExpressionEvaluator
    /// Job env, then step env, as `NAME: value`.
    public let environment: [EnvironmentVariable]
    private let budget: InputBudget

    public init(evaluator: ExpressionEvaluator, environment: [EnvironmentVariable],
                limit: Int = ExpressionLimits.stepInputBytes) {
        self.evaluator = evaluator
        self.environment = environment
        self.budget = InputBudget(limit: limit)
    }

    /// A template rendered as text.
    public func string(_ template: Template) throws(EvaluationError) -> String {
        let text = try evaluator.renderString(template)
        try budget.charge(text.utf8.count)
        return text
    }

    /// Counts bytes an atom made from `evaluator` itself (a script's values,
    /// each passed in a variable of its own) against the step's input.
    public func charge(_ bytes: Int) throws(EvaluationError) {
        try budget.charge(bytes)
    }

    /// A JSON value whose strings may hold templates.
    public func render(_ value: ValueTemplate) throws(EvaluationError) -> JSONValue {
        let rendered = try evaluator.render(value, limit: budget.remaining)
        try budget.charge(rendered.jsonSize(upTo: budget.remaining))
        return rendered
    }
}

/// The bytes one step's input may still take. A class so that copies of
/// `ActionValues` share it; locked because `ActionValues` is `Sendable`.
final class InputBudget: Sendable {
    private let limit: Int
    private let used = Mutex(0)

    init(limit: Int) { self.limit = limit }

    var remaining: Int { max(limit - used.withLock { $0 }, 0) }

    func charge(_ bytes: Int) throws(EvaluationError) {
        let total = used.withLock { used in
            used = used > Int.max - bytes ? Int.max : used + bytes
            return used
        }
        guard total <= limit else {
            throw EvaluationError(message: "the step's input would exceed \(limit.byteText), the limit (write large data to a file and pass its path)")
        }
    }
}
