/// Why the journal cannot be used. The message (and the hint, when there is
/// one) says what to do; the journal is never overwritten or recreated to
/// get past an error.
public struct JournalError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var hint: String?

    public init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }

    public var description: String { hint.map { "\(message); \($0)" } ?? message }
}
