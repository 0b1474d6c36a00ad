/// An error an atom throws when it wants to say more than a message.
/// Any other error fails the step with its description, as retryable.
public struct AtomFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    /// False when another attempt cannot help (bad input, a refusal).
    public var retryable: Bool
    /// True when the call is known to have changed nothing: atomd neither
    /// checks nor reverts it.
    public var changedNothing: Bool

    public init(_ message: String, retryable: Bool = true, changedNothing: Bool = false) {
        self.message = message
        self.retryable = retryable
        self.changedNothing = changedNothing
    }

    public var description: String { message }
}
