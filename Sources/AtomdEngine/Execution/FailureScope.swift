import Synchronization

/// Where a failure stops new steps from starting: the whole run, or one
/// attempt of a group with a retry controller (its failure is handled by
/// reverting and retrying that group, not by the run).
final class FailureScope: Sendable {
    private let halted = Atomic(false)
    private let parent: FailureScope?

    init(parent: FailureScope? = nil) {
        self.parent = parent
    }

    func halt() {
        halted.store(true, ordering: .sequentiallyConsistent)
    }

    var isHalted: Bool {
        halted.load(ordering: .sequentiallyConsistent) || (parent?.isHalted ?? false)
    }
}
