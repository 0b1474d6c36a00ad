/// How much an expression may make. A job is at most 1 MiB, but one
/// expression can repeat a value (`format('{0}{0}…', vars.big)`), and one
/// step can read a large value in many places: without a cap, 4 KiB of
/// expression text turned a 900 KB variable into 1.8 GB and killed the agent
/// (and killed it again on every restart while it resumed the run). Both caps
/// are checked before the bytes are allocated: at validation where the sizes
/// are known (the job's `vars`, `--var`), during evaluation otherwise, where
/// exceeding them fails the step with a clear error.
public enum ExpressionLimits {
    /// One expression's result, and one template's text (a `run:` script, a
    /// URL, an `env:` value). A step output is capped at 1 MiB too
    /// (`$ATOMD_OUTPUT`), so any value a step can make passes through whole.
    public static let resultBytes = 1 << 20
    /// Everything one step's action is given: the job's and the step's
    /// `env:`, its script or request, its `with:`. Four results' worth: a
    /// step that reads a 1 MiB output, passes it in `env:` and once more in
    /// its body still fits.
    public static let stepInputBytes = 4 << 20
    /// All of one step's declared `outputs:` together: each is a result, but
    /// 300 outputs of one 1 MiB value made a 600 MB journal entry.
    public static let stepOutputBytes = 4 << 20

    static func tooLarge(_ what: String, limit: Int) -> EvaluationError {
        EvaluationError(message: "\(what) would exceed \(limit.byteText), the limit (write large data to a file and pass its path)")
    }
}

extension Int {
    /// `1 MiB`, `4 MiB`, `512 KiB`, `700 bytes`: for messages.
    public var byteText: String {
        if self >= 1 << 20, self % (1 << 20) == 0 { return "\(self >> 20) MiB" }
        if self >= 1 << 10, self % (1 << 10) == 0 { return "\(self >> 10) KiB" }
        return "\(self) bytes"
    }

    /// Addition that stops at `Int.max`: sizes summed from hostile input.
    func addingSaturated(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }
}

extension JSONValue {
    /// At most the byte size of `interpolated`, exact for scalars and
    /// strings, counted without building anything (escapes inside arrays and
    /// objects are not counted: a walk of the bytes of every string would
    /// cost more than the check saves). Stops once past `limit`.
    public func interpolatedSize(upTo limit: Int) -> Int {
        switch self {
        case .string(let text): text.utf8.count
        case .array, .object: jsonSize(upTo: limit)
        default: interpolated.utf8.count
        }
    }

    /// At most the byte size of `json` (escapes not counted), up to just past `limit`.
    public func jsonSize(upTo limit: Int) -> Int {
        var size = 0
        addJSONSize(to: &size, limit: limit)
        return size
    }

    private func addJSONSize(to size: inout Int, limit: Int) {
        guard size <= limit else { return }
        switch self {
        case .null, .bool, .integer, .number:
            size = size.addingSaturated(interpolated.utf8.count)
        case .string(let text):
            size = size.addingSaturated(text.utf8.count + 2)
        case .array(let items):
            size = size.addingSaturated(2 + max(items.count - 1, 0))
            for item in items {
                item.addJSONSize(to: &size, limit: limit)
                if size > limit { return }
            }
        case .object(let members):
            size = size.addingSaturated(2 + max(members.count - 1, 0))
            for (key, value) in members {
                size = size.addingSaturated(key.utf8.count + 3)
                value.addJSONSize(to: &size, limit: limit)
                if size > limit { return }
            }
        }
    }

    /// `interpolated`, or an error when it would be larger than `limit`:
    /// measured first, so an oversized value is never built (JSON with many
    /// escapes is built, at most a few times `limit`, and then refused).
    /// `room`: what is left of `cap` (the limit the message names).
    func interpolated(room: Int, cap: Int = ExpressionLimits.resultBytes, what: @autoclosure () -> String) throws(EvaluationError) -> String {
        guard interpolatedSize(upTo: room) <= room else { throw ExpressionLimits.tooLarge(what(), limit: cap) }
        let text = interpolated
        guard text.utf8.count <= room else { throw ExpressionLimits.tooLarge(what(), limit: cap) }
        return text
    }
}
