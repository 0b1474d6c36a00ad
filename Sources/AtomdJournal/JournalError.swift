/// Why the journal cannot be used. The message says what to do; the journal
/// file is never overwritten or recreated to get past an error.
public struct JournalError: Error, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
