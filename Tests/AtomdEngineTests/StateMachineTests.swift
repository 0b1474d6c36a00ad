import AtomdEngine
import Testing

@Suite struct StateMachineTests {
    @Test func theStepLifecycleIsLegal() {
        let paths: [[StepStatus]] = [
            [.pending, .running, .succeeded, .reverting, .reverted],
            [.pending, .running, .running, .failed, .reverting, .revertFailed, .reverting, .reverted],
            [.pending, .running, .ignored, .reverting, .reverted],
            [.pending, .skipped],
            [.pending, .running, .failed, .running, .succeeded],
            [.pending, .running, .succeeded, .reverting, .reverted, .pending, .running],
        ]
        for path in paths {
            for (from, to) in zip(path, path.dropFirst()) {
                #expect(from.canMove(to: to), "\(from) -> \(to) should be legal")
            }
        }
    }

    @Test(arguments: [
        (StepStatus.pending, StepStatus.succeeded), (.pending, .reverting), (.succeeded, .running),
        (.reverted, .reverting), (.skipped, .succeeded), (.revertFailed, .reverted), (.succeeded, .failed),
    ])
    func illegalStepTransitionsAreRefused(_ from: StepStatus, _ to: StepStatus) {
        #expect(!from.canMove(to: to))
    }

    @Test func runTransitionsFollowDesign() {
        #expect(RunStatus.running.canMove(to: .reverting))
        #expect(RunStatus.paused.canMove(to: .running))
        #expect(RunStatus.revertFailed.canMove(to: .reverting))
        #expect(!RunStatus.succeeded.canMove(to: .reverting))
        #expect(!RunStatus.reverted.canMove(to: .running))
        #expect(!RunStatus.queued.canMove(to: .succeeded))
        #expect(RunStatus.allCases.filter(\.isFinal) == [.succeeded, .reverted, .revertFailed, .failed, .cancelled])
    }

    @Test func exitCodesMatchTheCLIContract() {
        #expect(RunStatus.succeeded.exitCode == 0)
        #expect(RunStatus.reverted.exitCode == 1)
        #expect(RunStatus.cancelled.exitCode == 1)
        #expect(RunStatus.revertFailed.exitCode == 3)
        #expect(RunStatus.failed.exitCode == 3)
    }
}
