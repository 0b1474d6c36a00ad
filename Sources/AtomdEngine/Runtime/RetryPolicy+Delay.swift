import AtomdSpec

extension RetryPolicy {
    /// The wait before attempt `attempt` (2 or later): `delay × backoff^(attempt-2)`,
    /// capped by `max_delay`, then spread by ±`jitter`. `random` is in [0, 1).
    public func delay(beforeAttempt attempt: Int, random: Double) -> Duration {
        let base = delay / .milliseconds(1)
        var milliseconds = base * pow(backoff, Double(max(0, attempt - 2)))
        if let maxDelay { milliseconds = min(milliseconds, maxDelay / .milliseconds(1)) }
        milliseconds *= 1 + jitter * (2 * random - 1)
        return .milliseconds(Int64(max(0, milliseconds.rounded())))
    }

    /// Whether a failure of this kind is retried.
    func retries(_ failure: CallFailure) -> Bool {
        switch failure {
        case .cancelled, .input: return false
        case .timeout: return on.contains(.timeout)
        case .error(_, let exitCode, let retryable, _, _):
            guard retryable else { return false }
            if on.contains(.error) { return true }
            return exitCode.map { on.contains(.exitCode($0)) } ?? false
        }
    }
}

private func pow(_ base: Double, _ exponent: Double) -> Double {
    var result = 1.0
    for _ in 0..<Int(exponent) { result *= base }
    return result
}
