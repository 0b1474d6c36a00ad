/// How often and how patiently a failed action is tried again (Temporal and
/// Step Functions style).
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in all, counting the first.
    public var attempts: Int
    public var delay: Duration
    /// Each delay is the previous one times this factor.
    public var backoff: Double
    public var maxDelay: Duration?
    /// Random spread applied to each delay, as a fraction (0.2 = ±20%).
    public var jitter: Double
    /// Which failures are retried.
    public var on: [Condition]

    public init(attempts: Int = 1, delay: Duration = .seconds(1), backoff: Double = 1.0, maxDelay: Duration? = nil,
                jitter: Double = 0, on: [Condition] = [.error, .timeout]) {
        self.attempts = attempts
        self.delay = delay
        self.backoff = backoff
        self.maxDelay = maxDelay
        self.jitter = jitter
        self.on = on
    }

    public enum Condition: Sendable, Hashable {
        case error
        case timeout
        case exitCode(Int)
    }
}
