import AtomdSpec

/// Why an atom call did not succeed.
enum CallFailure: Error, Sendable, CustomStringConvertible {
    case error(String, exitCode: Int?, retryable: Bool = true, retryAfter: Duration? = nil, changedNothing: Bool = false,
               outcomeUnknown: Bool = false)
    case timeout(Duration)
    /// The run was cancelled while the call ran.
    case cancelled
    /// The input could not be computed (an expression failed).
    case input(String)

    /// How long the server asked to wait before another attempt.
    var retryAfter: Duration? {
        if case .error(_, _, _, let wait, _, _) = self { return wait }
        return nil
    }

    /// The atom knows the call made no change (the server refused it).
    var changedNothing: Bool {
        if case .error(_, _, _, _, let nothing, _) = self { return nothing }
        return false
    }

    /// The call may have taken effect with no answer to say so: a timeout,
    /// or an atom's answer that was lost on the way.
    var outcomeUnknown: Bool {
        switch self {
        case .timeout: true
        case .error(_, _, _, _, _, let unknown): unknown
        case .cancelled, .input: false
        }
    }

    var description: String {
        switch self {
        case .error(let message, let code, _, _, _, _): code.map { "\(message) (exit code \($0))" } ?? message
        case .timeout(let limit): "timed out after \(limit.jobText)"
        case .cancelled: "cancelled"
        case .input(let message): "cannot compute the input: \(message)"
        }
    }
}

/// The first of an atom call and its deadline to finish.
private enum Race<T: Sendable>: Sendable {
    case finished(T)
    case timedOut
}

/// Runs an atom call, cancelling it when `limit` passes. The atom must honour
/// cancellation; the call returns when it has.
func callWithTimeout<T: Sendable>(
    _ limit: Duration?, _ body: @escaping @Sendable () async throws -> T
) async -> Result<T, CallFailure> {
    do {
        // Without a deadline there is nothing to race: the call runs in this
        // task (a child task costs a hand-off to another thread per call).
        guard let limit else { return .success(try await body()) }
        return try await withThrowingTaskGroup(of: Race<T>.self) { group in
            group.addTask { .finished(try await body()) }
            group.addTask {
                try await Task.sleep(for: limit)
                return .timedOut
            }
            defer { group.cancelAll() }
            switch try await group.next() {
            case .finished(let value)?: return .success(value)
            case .timedOut?: return .failure(.timeout(limit))
            case nil: return .failure(.cancelled)
            }
        }
    } catch let error as AtomError {
        return .failure(.error(error.message, exitCode: error.exitCode, retryable: error.retryable, retryAfter: error.retryAfter,
                                      changedNothing: error.changedNothing, outcomeUnknown: error.outcomeUnknown))
    } catch is CancellationError {
        return .failure(.cancelled)
    } catch {
        return .failure(Task.isCancelled ? .cancelled : .error(String(describing: error), exitCode: nil))
    }
}
