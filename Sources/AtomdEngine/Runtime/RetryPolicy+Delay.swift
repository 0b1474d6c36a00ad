import AtomdSpec
import Foundation

extension RetryPolicy {
    /// The longest wait between two attempts when `max_delay` does not say:
    /// `backoff` compounds quickly (`delay: 1s, backoff: 10` passes a day by
    /// the seventh attempt), and a wait must saturate, never overflow.
    public static let longestDelay: Duration = .seconds(86_400)

    /// The wait before attempt `attempt` (2 or later): `delay × backoff^(attempt-2)`,
    /// capped by `max_delay` (at most `longestDelay`), then spread by
    /// ±`jitter`. `random` is in [0, 1).
    public func delay(beforeAttempt attempt: Int, random: Double) -> Duration {
        let ceiling = min(maxDelay ?? Self.longestDelay, Self.longestDelay) / .milliseconds(1)
        var milliseconds = (delay / .milliseconds(1)) * Foundation.pow(backoff, Double(max(0, attempt - 2)))
        if !milliseconds.isFinite || milliseconds > ceiling { milliseconds = ceiling }
        milliseconds *= 1 + jitter * (2 * random - 1)
        return .milliseconds(Int64(min(max(0, milliseconds.rounded()), ceiling * 2)))
    }

    /// Whether a failure of this kind is retried.
    func retries(_ failure: CallFailure) -> Bool {
        switch failure {
        case .cancelled, .input: return false
        case .timeout: return on.contains(.timeout)
        case .error(_, let exitCode, let retryable, _, _, _):
            guard retryable else { return false }
            if on.contains(.error) { return true }
            return exitCode.map { on.contains(.exitCode($0)) } ?? false
        }
    }
}
