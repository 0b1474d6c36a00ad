/// The states of a run (DESIGN.md section 4).
public enum RunStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case queued, running, paused, reverting, succeeded, reverted
    /// An operator rollback is reverting its path and resetting its steps;
    /// the run then pauses, or goes on (`--resume`).
    case rollingBack = "rolling_back"
    case revertFailed = "revert_failed"
    case failed, cancelled

    /// States a run never leaves on its own.
    public var isFinal: Bool {
        switch self {
        case .succeeded, .reverted, .failed, .cancelled: true
        // An operator may retry compensation from revert_failed, but the run
        // itself has stopped.
        case .revertFailed: true
        default: false
        }
    }

    /// The legal transitions. Anything else is an engine bug.
    public func canMove(to next: RunStatus) -> Bool {
        switch (self, next) {
        case (.queued, .running), (.queued, .cancelled): true
        case (.running, .succeeded), (.running, .reverting), (.running, .paused),
             (.running, .failed), (.running, .cancelled): true
        case (.paused, .running), (.paused, .reverting), (.paused, .cancelled), (.paused, .failed): true
        case (.reverting, .reverted), (.reverting, .revertFailed), (.reverting, .cancelled): true
        case (.revertFailed, .reverting): true
        // An operator rollback, its end, a revert of it that failed, and its retry.
        case (.running, .rollingBack), (.paused, .rollingBack), (.rollingBack, .paused), (.rollingBack, .running),
             (.rollingBack, .revertFailed), (.revertFailed, .rollingBack): true
        default: false
        }
    }

    /// The process exit code for a run that ended here (DESIGN.md section 8).
    public var exitCode: Int32 {
        switch self {
        case .succeeded: 0
        case .reverted, .cancelled: 1
        case .revertFailed, .failed: 3
        case .queued, .running, .paused, .reverting, .rollingBack: 4
        }
    }
}

/// The states of a step (DESIGN.md section 4).
public enum StepStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case pending, running, succeeded, skipped, failed, reverting, reverted
    case revertFailed = "revert_failed"
    case ignored

    /// The legal transitions. `pending` is re-entered when a group retry runs
    /// a reverted group again; `running -> running` is the next attempt.
    public func canMove(to next: StepStatus) -> Bool {
        switch (self, next) {
        case (.pending, .running), (.pending, .skipped): true
        case (.running, .running), (.running, .succeeded), (.running, .failed),
             (.running, .ignored), (.running, .skipped): true
        case (.failed, .running), (.failed, .skipped), (.failed, .reverting), (.failed, .pending): true
        case (.succeeded, .reverting), (.ignored, .reverting), (.skipped, .reverting): true
        case (.reverting, .reverted), (.reverting, .revertFailed): true
        case (.revertFailed, .reverting): true
        case (.reverted, .pending), (.skipped, .pending), (.succeeded, .pending), (.ignored, .pending): true
        default: false
        }
    }
}
