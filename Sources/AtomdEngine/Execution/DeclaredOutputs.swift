import AtomdSpec

extension ExpressionEvaluator {
    /// A step's declared `outputs:`, within `ExpressionLimits.stepOutputBytes`
    /// together: what the journal records and every later step reads.
    func renderOutputs(_ outputs: [Step.Output]) throws(EvaluationError) -> JSONValue {
        var declared: [String: JSONValue] = [:]
        var total = 0
        for output in outputs {
            let value = try render(output.value)
            total += value.json.utf8.count
            guard total <= ExpressionLimits.stepOutputBytes else {
                throw EvaluationError(message: "the step's outputs would exceed \(ExpressionLimits.stepOutputBytes >> 20) MiB together, the limit (write large data to a file and pass its path)")
            }
            declared[output.name] = value
        }
        return .object(declared)
    }
}
