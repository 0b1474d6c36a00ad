import Testing

/// Operator rollback as a table (issue 33), in the manner of
/// bamboo-pipeline's rollback tests: each row is a job, the steering an
/// operator does (`atomd pause/resume/retry/revert/cancel/rollback`, the
/// release of held steps, waits for statuses and events), the ledger of
/// executes and reverts the steps wrote, in order, and the run's final
/// status. A refusal names its rule (README, "Steering a running job").
/// Each row runs against a real `atomd agent` of its own
/// (RollbackCaseTable.swift has the row language and the runner). Only
/// behaviour that is right today is in the table: rows for what issue 33
/// still fixes (reserved rollbacks at the end of a group, one rollback at a
/// time, `rolling_back`, TOKEN-only reservations, following a reopened run)
/// join it with their fixes.
@Suite(.timeLimit(.minutes(3))) struct RollbackCaseTableTests {
    @Test(arguments: RollbackCaseTableTests.table)
    func rollbackCase(_ row: RollbackCase) async throws {
        try await RollbackCaseRunner.play(row)
    }

    /// a, b, c succeed; d fails until fixed, and the run waits for the operator.
    static let sequence = CaseJob.pause([.step("a"), .step("b"), .step("c"), .failing("d")])
    /// a, b held until released, c.
    static let heldB = CaseJob.pause([.step("a"), .held("b"), .step("c")])
    /// a, a finished sequence group s, c, then d fails.
    static let finishedGroup = CaseJob.pause([.step("a"), .sequence("s", [.step("s1"), .step("s2")]), .step("c"), .failing("d")])
    /// a, a parallel group whose branches are released one after the other, c, then d fails.
    static let finishedParallel = CaseJob.pause([.step("a"), .parallel("p", [.held("p1"), .held("p2")]), .step("c"), .failing("d")])
    static let releaseParallel: [Steer] = [.release("p1"), .step("p1", is: "succeeded"), .release("p2"), .run(is: "paused")]
    static let finishedParallelRun: [LedgerEntry] = ["exec a", "exec p1", "exec p2", "exec c", "fail d"]
    static let failedSequence: [LedgerEntry] = ["exec a", "exec b", "exec c", "fail d"]

    static let table: [RollbackCase] = [
        // MARK: TOKEN in a sequence

        RollbackCase(
            "sequence: TOKEN from the failed step back to b, then fixed and resumed (followed by submit --wait)",
            job: sequence,
            steer: [.run(is: "paused"), .ok("rollback RUN --to b"), .rolledBack(to: "b"), .followerSays("b  note: rolled back to 'b'"),
                    .fix("d"), .ok("resume RUN")],
            ledger: failedSequence + ["revert d", "revert c", "revert b", "exec b", "exec c", "exec d"],
            status: "succeeded", follow: true),
        RollbackCase(
            "sequence: TOKEN back to the first step with --resume goes on at once",
            job: sequence,
            steer: [.run(is: "paused"), .fix("d"), .ok("rollback RUN --to a --resume")],
            ledger: failedSequence + ["revert d", "revert c", "revert b", "revert a", "exec a", "exec b", "exec c", "exec d"],
            status: "succeeded"),
        RollbackCase(
            "sequence: rollback.auto_resume goes on after the rollback",
            job: .pause([.step("a"), .step("b"), .step("c"), .failing("d")], autoResume: true),
            steer: [.run(is: "paused"), .fix("d"), .ok("rollback RUN --to c")],
            ledger: failedSequence + ["revert d", "revert c", "exec c", "exec d"],
            status: "succeeded"),
        RollbackCase(
            "sequence: TOKEN from a step to itself, after a pause let it finish",
            job: heldB,
            steer: [.step("b", is: "running"), .ok("pause RUN"), .release("b"), .step("b", is: "succeeded"),
                    .ok("rollback RUN --to b --from b"), .rolledBack(to: "b"), .ok("resume RUN")],
            ledger: ["exec a", "exec b", "revert b", "exec b", "exec c"],
            status: "succeeded"),
        RollbackCase(
            "sequence: --from short of the run's end is refused (current-end); from the end it is done",
            job: sequence,
            steer: [.run(is: "paused"), .refused("rollback RUN --to b --from c", rule: "current-end"),
                    .ok("rollback RUN --to b --from d"), .rolledBack(to: "b"), .fix("d"), .ok("resume RUN")],
            ledger: failedSequence + ["revert d", "revert c", "revert b", "exec b", "exec c", "exec d"],
            status: "succeeded"),
        RollbackCase(
            "sequence: a failed step is no target (target-succeeded); the step is retried instead",
            job: sequence,
            steer: [.run(is: "paused"), .refused("rollback RUN --to d", rule: "target-succeeded"), .fix("d"), .waiting(for: "d"),
                    .ok("retry RUN d")],
            ledger: failedSequence + ["exec d"],
            status: "succeeded"),
        RollbackCase(
            "sequence: --from before --to is refused (start-after-target); the run is then reverted as a whole",
            job: sequence,
            steer: [.run(is: "paused"), .refused("rollback RUN --to c --from b", rule: "start-after-target"), .ok("revert RUN")],
            ledger: failedSequence + ["revert d", "revert c", "revert b", "revert a"],
            status: "reverted"),
        RollbackCase(
            "sequence: steps the job does not have are refused (target-exists, start-exists)",
            job: sequence,
            steer: [.run(is: "paused"), .refused("rollback RUN --to nope", rule: "target-exists"),
                    .refused("rollback RUN --to b --from nope", rule: "start-exists"), .fix("d"), .waiting(for: "d"), .ok("retry RUN d")],
            ledger: failedSequence + ["exec d"],
            status: "succeeded"),
        RollbackCase(
            "a finally step is no target (target-main)",
            job: .pause([.step("a"), .failing("b")], finally: [.step("f")]),
            steer: [.run(is: "paused"), .refused("rollback RUN --to f", rule: "target-main"), .fix("b"), .waiting(for: "b"),
                    .ok("retry RUN b")],
            ledger: ["exec a", "fail b", "exec b", "exec f"],
            status: "succeeded"),
        RollbackCase(
            "a running step is no start (start-finished), a pending one no target (target-succeeded)",
            job: heldB,
            steer: [.step("b", is: "running"), .refused("rollback RUN --to a --from b", rule: "start-finished", says: "--reserve"),
                    .refused("rollback RUN --to a", rule: "start-finished"), .refused("rollback RUN --to c", rule: "target-succeeded"),
                    .release("b")],
            ledger: ["exec a", "exec b", "exec c"],
            status: "succeeded"),
        RollbackCase(
            "an ended run is not rolled back, and a succeeded one has no revert to retry",
            job: .pause([.step("a"), .step("b")]),
            steer: [.ended, .refused("rollback RUN --to a", rule: "run-state", says: "a run that has ended cannot be rolled back"),
                    .refused("rollback RUN --retry", says: "--retry retries a failed revert")],
            ledger: ["exec a", "exec b"],
            status: "succeeded"),
        RollbackCase(
            "a run compensating on its own is not rolled back (run-state)",
            job: .revert([.step("a"), .step("b").revert(.held), .failing("c")]),
            steer: [.step("b", is: "reverting"), .refused("rollback RUN --to a", rule: "run-state"), .releaseRevert("b")],
            ledger: ["exec a", "exec b", "fail c", "revert c", "revert b", "revert a"],
            status: "reverted"),

        // MARK: A second rollback

        RollbackCase(
            "a second rollback after the first ended: back to c, then on back to b",
            job: sequence,
            steer: [.run(is: "paused"), .ok("rollback RUN --to c"), .rolledBack(to: "c"), .targets(["a", "b"]),
                    .ok("rollback RUN --to b"), .rolledBack(to: "b"), .fix("d"), .ok("resume RUN")],
            ledger: failedSequence + ["revert d", "revert c", "revert b", "exec b", "exec c", "exec d"],
            status: "succeeded"),
        RollbackCase(
            "a rollback with --resume fails again at d; a second rollback from there",
            job: sequence,
            steer: [.run(is: "paused"), .ok("rollback RUN --to c --resume"), .rolledBack(to: "c"), .step("d", is: "failed"),
                    .ok("rollback RUN --to b"), .rolledBack(to: "b"), .fix("d"), .ok("resume RUN")],
            ledger: failedSequence + ["revert d", "revert c", "exec c", "fail d", "revert d", "revert c", "revert b",
                                      "exec b", "exec c", "exec d"],
            status: "succeeded"),

        RollbackCase(
            "a rollback, then the paused run is reverted as a whole: only what is still done is reverted",
            job: sequence,
            steer: [.run(is: "paused"), .ok("rollback RUN --to b"), .rolledBack(to: "b"), .ok("revert RUN")],
            ledger: failedSequence + ["revert d", "revert c", "revert b", "revert a"],
            status: "reverted"),
        RollbackCase(
            "TOKEN after an ANY jump reverts only the steps still done",
            job: sequence,
            steer: [.run(is: "paused"), .ok("rollback RUN --to b --mode any"), .rolledBack(to: "b"), .ok("rollback RUN --to a"),
                    .rolledBack(to: "a"), .fix("d"), .ok("resume RUN")],
            ledger: failedSequence + ["revert a", "exec a", "exec b", "exec c", "exec d"],
            status: "succeeded"),

        // MARK: --retry after a failed revert

        RollbackCase(
            "a revert fails during a rollback: revert_failed; --retry finishes the rollback and the run goes on",
            job: .pause([.step("a"), .step("b").revert(.broken), .step("c"), .failing("d")]),
            steer: [.run(is: "paused"), .ok("rollback RUN --to a"), .ended, .run(is: "revert_failed"),
                    .refused("rollback RUN --to a", rule: "run-state", says: "`atomd rollback RUN --retry` retries the failed revert first"), .fixRevert("b"),
                    .ok("rollback RUN --retry"), .rolledBack(to: "a"), .fix("d"), .ok("resume RUN")],
            ledger: failedSequence + ["revert d", "revert c", "revert-failed b", "revert b", "revert a",
                                      "exec a", "exec b", "exec c", "exec d"],
            status: "succeeded"),
        RollbackCase(
            "--retry of a revert that fails again leaves the run revert_failed; a second --retry finishes it",
            job: .pause([.step("a"), .step("b").revert(.broken), .step("c"), .failing("d")]),
            steer: [.run(is: "paused"), .ok("rollback RUN --to b"), .ended, .ok("rollback RUN --retry"), .ended,
                    .run(is: "revert_failed"), .fixRevert("b"), .ok("rollback RUN --retry"), .rolledBack(to: "b"),
                    .fix("d"), .ok("resume RUN")],
            ledger: failedSequence + ["revert d", "revert c", "revert-failed b", "revert-failed b", "revert b",
                                      "exec b", "exec c", "exec d"],
            status: "succeeded"),
        RollbackCase(
            "--retry reopens a run whose finally step ran: it runs again at the run's new end",
            job: .pause([.step("a"), .step("b").revert(.broken), .step("c"), .failing("d")], finally: [.step("f")]),
            steer: [.run(is: "paused"), .ok("rollback RUN --to a"), .ended, .fixRevert("b"), .ok("rollback RUN --retry"),
                    .rolledBack(to: "a"), .fix("d"), .ok("resume RUN")],
            ledger: failedSequence + ["revert d", "revert c", "revert-failed b", "exec f", "revert b", "revert a",
                                      "exec a", "exec b", "exec c", "exec d", "exec f"],
            status: "succeeded"),
        RollbackCase(
            "a revert fails during compensation: --retry carries compensation to its end",
            job: .revert([.step("a"), .step("b").revert(.broken), .failing("c")]),
            steer: [.ended, .run(is: "revert_failed"), .fixRevert("b"), .ok("rollback RUN --retry")],
            ledger: ["exec a", "exec b", "fail c", "revert c", "revert-failed b", "revert b", "revert a"],
            status: "reverted"),

        // MARK: Groups

        RollbackCase(
            "sequence group: TOKEN inside the group, from its failed step back to its first",
            job: .pause([.step("a"), .sequence("s", [.step("s1"), .step("s2"), .failing("s3")]), .step("c")]),
            steer: [.run(is: "paused"), .ok("rollback RUN --to s1"), .rolledBack(to: "s1"), .fix("s3"), .ok("resume RUN")],
            ledger: ["exec a", "exec s1", "exec s2", "fail s3", "revert s3", "revert s2", "revert s1",
                     "exec s1", "exec s2", "exec s3", "exec c"],
            status: "succeeded"),
        RollbackCase(
            "sequence group: out of a group that is running is refused (start-finished, same-scope)",
            job: .pause([.step("a"), .sequence("s", [.step("s1"), .step("s2"), .failing("s3")]), .step("c")]),
            steer: [.run(is: "paused"), .refused("rollback RUN --to a", rule: "start-finished", says: "roll back inside group 's' first"),
                    .refused("rollback RUN --to a --from s3", rule: "same-scope"), .targets(["s1", "s2"]),
                    .fix("s3"), .waiting(for: "s3"), .ok("retry RUN s3")],
            ledger: ["exec a", "exec s1", "exec s2", "fail s3", "exec s3", "exec c"],
            status: "succeeded"),
        RollbackCase(
            "a finished group on the path back is reverted inside out",
            job: finishedGroup,
            steer: [.run(is: "paused"), .ok("rollback RUN --to a"), .rolledBack(to: "a"), .fix("d"), .ok("resume RUN")],
            ledger: ["exec a", "exec s1", "exec s2", "exec c", "fail d", "revert d", "revert c", "revert s2", "revert s1", "revert a",
                     "exec a", "exec s1", "exec s2", "exec c", "exec d"],
            status: "succeeded"),
        RollbackCase(
            "a step of a finished group is no TOKEN target (current-end, same-scope, target-step)",
            job: finishedGroup,
            steer: [.run(is: "paused"), .targets(["a", "c"]), .refused("rollback RUN --to s1", rule: "current-end"),
                    .refused("rollback RUN --to s1 --from d", rule: "same-scope"), .refused("rollback RUN --to s", rule: "target-step"),
                    .fix("d"), .waiting(for: "d"), .ok("retry RUN d")],
            ledger: ["exec a", "exec s1", "exec s2", "exec c", "fail d", "exec d"],
            status: "succeeded"),
        RollbackCase(
            "parallel: TOKEN on one branch while another waits at its failure",
            job: .pause([.step("a"), .parallel("p", [.failing("p1"), .held("p2")]), .step("c")]),
            steer: [.step("p1", is: "failed"), .release("p2"), .step("p2", is: "succeeded"), .ok("rollback RUN --to p2"),
                    .rolledBack(to: "p2"), .fix("p1"), .ok("resume RUN"), .waiting(for: "p1"), .ok("retry RUN p1")],
            // Resumed, p2 may start before p1's question pauses the run again, or only after p1's retry.
            ledger: ["exec a", "fail p1", "exec p2", "revert p2", .anyOrder("exec p2", "exec p1"), "exec c"],
            status: "succeeded"),
        RollbackCase(
            "parallel: from one branch to another is refused (same-branch), and so is leaving the group",
            job: .pause([.step("a"), .parallel("p", [.step("p1"), .step("p2"), .held("p3").failing()]), .step("c")]),
            steer: [.step("p1", is: "succeeded"), .step("p2", is: "succeeded"), .release("p3"), .run(is: "paused"),
                    .refused("rollback RUN --to p1 --from p2", rule: "same-branch"), .refused("rollback RUN --to a", rule: "start-finished"),
                    .refused("rollback RUN --to a --from p2", rule: "same-scope"), .fix("p3"), .waiting(for: "p3"), .ok("retry RUN p3")],
            ledger: ["exec a", .anyOrder("exec p1", "exec p2"), "fail p3", "exec p3", "exec c"],
            status: "succeeded"),
        RollbackCase(
            "parallel: a finished group on the path back reverts its branches, then runs them again",
            job: finishedParallel,
            steer: releaseParallel + [.ok("rollback RUN --to a"), .rolledBack(to: "a"), .fix("d"), .ok("resume RUN")],
            ledger: finishedParallelRun + ["revert d", "revert c", .anyOrder("revert p1", "revert p2"), "revert a",
                                           "exec a", .anyOrder("exec p1", "exec p2"), "exec c", "exec d"],
            status: "succeeded"),
        RollbackCase(
            "parallel: a branch of a finished group is refused in TOKEN mode (current-end), reached in ANY mode",
            job: finishedParallel,
            steer: releaseParallel + [.refused("rollback RUN --to p2", rule: "current-end"), .ok("rollback RUN --to p2 --mode any"),
                                      .rolledBack(to: "p2"), .fix("d"), .ok("resume RUN")],
            ledger: finishedParallelRun + ["exec p2", "exec c", "exec d"],
            status: "succeeded"),
        RollbackCase(
            "graph: a dependency is refused (current-end, same-branch); a leaf is rolled back on its own",
            job: .pause([.step("a"), .graph("g", [.step("x"), .held("y").needs("x"), .failing("z").needs("x")]), .step("d")]),
            steer: [.step("z", is: "failed"), .release("y"), .step("y", is: "succeeded"),
                    .refused("rollback RUN --to x", rule: "current-end", says: "roll back 'y' first (--to y)"),
                    .refused("rollback RUN --to x --from y", rule: "same-branch"),
                    .ok("rollback RUN --to y"), .rolledBack(to: "y"), .fix("z"), .ok("resume RUN"),
                    .waiting(for: "z"), .ok("retry RUN z")],
            ledger: ["exec a", "exec x", "fail z", "exec y", "revert y", .anyOrder("exec y", "exec z"), "exec d"],
            status: "succeeded"),
        RollbackCase(
            "graph: a finished graph on the path back reverts in reverse dependency order",
            job: .pause([.step("a"), .graph("g", [.step("x"), .step("y").needs("x"), .step("z").needs("x")]), .failing("d")]),
            steer: [.run(is: "paused"), .ok("rollback RUN --to a"), .rolledBack(to: "a"), .fix("d"), .ok("resume RUN")],
            ledger: ["exec a", "exec x", .anyOrder("exec y", "exec z"), "fail d", "revert d", .anyOrder("revert y", "revert z"),
                     "revert x", "revert a", "exec a", "exec x", .anyOrder("exec y", "exec z"), "exec d"],
            status: "succeeded"),
        RollbackCase(
            "nested: TOKEN inside a sequence branch of a parallel group waits for the other branch, then auto-resumes",
            job: .pause([.step("a"), .parallel("p", [.sequence("br", [.step("x1"), .step("x2"), .failing("x3")]), .held("y")]),
                         .step("c")], autoResume: true),
            steer: [.step("x3", is: "failed"), .refused("rollback RUN --to x2 --from y", rule: "same-scope"),
                    .refused("rollback RUN --to x1 --from x2", rule: "current-end"), .fix("x3"), .ok("rollback RUN --to x2"),
                    .release("y"), .rolledBack(to: "x2")],
            ledger: ["exec a", "exec x1", "exec x2", "fail x3", "exec y", "revert x3", "revert x2", "exec x2", "exec x3", "exec c"],
            status: "succeeded"),

        // MARK: ANY mode

        RollbackCase(
            "ANY: back to b without reverting anything; --from is refused (any-no-start)",
            job: sequence,
            steer: [.run(is: "paused"), .refused("rollback RUN --to b --from c --mode any", rule: "any-no-start"),
                    .ok("rollback RUN --to b --mode any"), .rolledBack(to: "b"), .fix("d"), .ok("resume RUN")],
            ledger: failedSequence + ["exec b", "exec c", "exec d"],
            status: "succeeded", follow: true),
        RollbackCase(
            "ANY: to the first step with --resume",
            job: sequence,
            steer: [.run(is: "paused"), .fix("d"), .ok("rollback RUN --to a --mode any --resume")],
            ledger: failedSequence + ["exec a", "exec b", "exec c", "exec d"],
            status: "succeeded"),
        RollbackCase(
            "ANY: into a finished group, which runs again from that step",
            job: finishedGroup,
            steer: [.run(is: "paused"), .targets(["a", "s1", "s2", "c"], options: "--mode any"), .ok("rollback RUN --to s1 --mode any"),
                    .rolledBack(to: "s1"), .fix("d"), .ok("resume RUN")],
            ledger: ["exec a", "exec s1", "exec s2", "exec c", "fail d", "exec s1", "exec s2", "exec c", "exec d"],
            status: "succeeded"),
        RollbackCase(
            "ANY: refused while a step runs (nothing-running)",
            job: heldB,
            steer: [.step("b", is: "running"), .refused("rollback RUN --to a --mode any", rule: "nothing-running"), .release("b")],
            ledger: ["exec a", "exec b", "exec c"],
            status: "succeeded"),
        RollbackCase(
            "ANY: after a TOKEN rollback ended, a jump further back",
            job: sequence,
            steer: [.run(is: "paused"), .ok("rollback RUN --to c"), .rolledBack(to: "c"), .ok("rollback RUN --to a --mode any"),
                    .rolledBack(to: "a"), .fix("d"), .ok("resume RUN")],
            ledger: failedSequence + ["revert d", "revert c", "exec a", "exec b", "exec c", "exec d"],
            status: "succeeded"),

        // MARK: --reserve

        RollbackCase(
            "--reserve: the rollback starts when its step succeeds",
            job: heldB,
            steer: [.step("b", is: "running"), .ok("rollback RUN --to a --from b --reserve"), .release("b"), .rolledBack(to: "a"),
                    .ok("resume RUN")],
            ledger: ["exec a", "exec b", "revert b", "revert a", "exec a", "exec b", "exec c"],
            status: "succeeded"),
        RollbackCase(
            "--reserve: a failure of the step does not fire it; the retry's success does",
            job: .pause([.step("a"), .held("b").failing(), .step("c")]),
            steer: [.step("b", is: "running"), .ok("rollback RUN --to a --from b --reserve"), .release("b"), .step("b", is: "failed"),
                    .fix("b"), .waiting(for: "b"), .ok("retry RUN b"), .rolledBack(to: "a"), .ok("resume RUN")],
            ledger: ["exec a", "fail b", "exec b", "revert b", "revert a", "exec a", "exec b", "exec c"],
            status: "succeeded"),
        RollbackCase(
            "--reserve then --cancel: the step succeeds and the run goes on (a second --cancel: reservation-exists)",
            job: heldB,
            steer: [.step("b", is: "running"), .ok("rollback RUN --to a --from b --reserve"), .ok("rollback RUN --cancel"),
                    .refused("rollback RUN --cancel", rule: "reservation-exists"), .release("b")],
            ledger: ["exec a", "exec b", "exec c"],
            status: "succeeded"),
        RollbackCase(
            "--reserve, then the run is cancelled while the step runs: compensated, no rollback",
            job: heldB,
            steer: [.step("b", is: "running"), .ok("rollback RUN --to a --from b --reserve"), .ok("cancel RUN")],
            ledger: ["exec a", "revert b", "revert a"],
            status: "cancelled", follow: true),
        RollbackCase(
            "--reserve refusals: a finished start (reserve-running), a pending target, no --from, a second one (one-reservation)",
            job: heldB,
            steer: [.step("b", is: "running"), .refused("rollback RUN --to a --from a --reserve", rule: "reserve-running"),
                    .refused("rollback RUN --to c --from b --reserve", rule: "target-succeeded"),
                    .refused("rollback RUN --to a --reserve", says: "--reserve needs --to and --from"),
                    .ok("rollback RUN --to b --from b --reserve"), .refused("rollback RUN --to a --from b --reserve", rule: "one-reservation"),
                    .release("b"), .rolledBack(to: "b"), .ok("resume RUN")],
            ledger: ["exec a", "exec b", "revert b", "exec b", "exec c"],
            status: "succeeded"),
        // MARK: Wrong before issue 33, right now

        // 1. A rollback is planned from the run as it stands when carried out.
        RollbackCase(
            "--reserve from the last step of a sequence group: the group runs again",
            job: .pause([.step("a"), .sequence("s", [.step("s1"), .held("s2")]), .step("c")]),
            steer: [.step("s2", is: "running"), .ok("rollback RUN --to s1 --from s2 --reserve"), .release("s2"),
                    .rolledBack(to: "s1"), .ok("resume RUN")],
            ledger: ["exec a", "exec s1", "exec s2", "revert s2", "revert s1", "exec s1", "exec s2", "exec c"],
            status: "succeeded"),
        RollbackCase(
            "--reserve on the branch of a parallel group that finishes last: the branch runs again",
            job: .pause([.step("a"), .parallel("p", [.held("p1"), .held("p2")]), .step("c")]),
            steer: [.release("p1"), .step("p1", is: "succeeded"), .ok("rollback RUN --to p2 --from p2 --reserve"), .release("p2"),
                    .rolledBack(to: "p2"), .ok("resume RUN")],
            ledger: ["exec a", "exec p1", "exec p2", "revert p2", "exec p2", "exec c"],
            status: "succeeded"),
        RollbackCase(
            "parallel: TOKEN on a finished branch while the other branch runs on and finishes last",
            job: .pause([.step("a"), .parallel("p", [.held("p1"), .held("p2")]), .step("c")]),
            steer: [.release("p2"), .step("p2", is: "succeeded"), .ok("rollback RUN --to p2"), .release("p1"),
                    .rolledBack(to: "p2"), .ok("resume RUN")],
            ledger: ["exec a", "exec p2", "exec p1", "revert p2", "exec p2", "exec c"],
            status: "succeeded"),

        // 2. A second rollback asked while the first is carried out is refused.
        RollbackCase(
            "a second rollback while the first reverts its path is refused (one-at-a-time)",
            job: .pause([.step("a"), .parallel("p", [.step("p1"), .step("p2").revert(.held), .held("p3").failing()]), .step("c")]),
            steer: [.step("p1", is: "succeeded"), .step("p2", is: "succeeded"), .release("p3"), .waiting(for: "p3"),
                    .ok("rollback RUN --to p2"), .step("p2", is: "reverting"),
                    .refused("rollback RUN --to p1", rule: "one-at-a-time"),
                    .refused("rollback RUN --to a --mode any", rule: "one-at-a-time"),
                    .releaseRevert("p2"), .rolledBack(to: "p2"), .fix("p3"), .ok("resume RUN"), .waiting(for: "p3"),
                    .ok("retry RUN p3")],
            ledger: ["exec a", .anyOrder("exec p1", "exec p2"), "fail p3", "revert p2", .anyOrder("exec p2", "exec p3"), "exec c"],
            status: "succeeded"),
        RollbackCase(
            "a second rollback in a sequence while the first reverts its path is refused (one-at-a-time)",
            job: .pause([.step("a"), .step("b").revert(.held), .step("c"), .failing("d")]),
            steer: [.run(is: "paused"), .ok("rollback RUN --to b"), .step("b", is: "reverting"),
                    .refused("rollback RUN --to a", rule: "one-at-a-time"), .releaseRevert("b"), .rolledBack(to: "b"),
                    .fix("d"), .ok("resume RUN")],
            ledger: ["exec a", "exec b", "exec c", "fail d", "revert d", "revert c", "revert b", "exec b", "exec c", "exec d"],
            status: "succeeded"),

        // 3. While a rollback reverts its path, the run is rolling_back and resume is refused.
        RollbackCase(
            "while a rollback reverts its path the run is rolling_back, and resume is refused",
            job: .pause([.step("a"), .step("b").revert(.held), .step("c"), .failing("d")]),
            steer: [.run(is: "paused"), .ok("rollback RUN --to a"), .step("b", is: "reverting"), .run(is: "rolling_back"),
                    .refused("resume RUN", says: "rolling back"), .releaseRevert("b"), .rolledBack(to: "a"), .run(is: "paused"),
                    .fix("d"), .ok("resume RUN")],
            ledger: ["exec a", "exec b", "exec c", "fail d", "revert d", "revert c", "revert b", "revert a",
                     "exec a", "exec b", "exec c", "exec d"],
            status: "succeeded"),

        // 4. Reservations in ANY mode: --from names the step to wait for.
        RollbackCase(
            "--reserve in ANY mode: when b succeeds the run jumps back to a without reverting",
            job: .pause([.step("a"), .held("b"), .step("c")]),
            steer: [.step("b", is: "running"), .ok("rollback RUN --to a --from b --mode any --reserve"), .release("b"),
                    .rolledBack(to: "a"), .ok("resume RUN")],
            ledger: ["exec a", "exec b", "exec a", "exec b", "exec c"],
            status: "succeeded"),

        // Requests that cannot apply to a run being compensated are refused, not accepted and lost.
        RollbackCase(
            "while compensation runs, resume, pause and a rollback are refused (run-state)",
            job: .revert([.step("a"), .step("b").revert(.held), .failing("c")]),
            steer: [.step("b", is: "reverting"), .run(is: "reverting"),
                    .refused("resume RUN", rule: "run-state", says: "being compensated"),
                    .refused("pause RUN", rule: "run-state", says: "being compensated"),
                    .refused("rollback RUN --to a", says: "the run is being compensated"),
                    .releaseRevert("b")],
            ledger: ["exec a", "exec b", "fail c", "revert c", "revert b", "revert a"],
            status: "reverted"),

        // 5. `submit --wait` follows a run reopened by `rollback --retry` until it is closed for good.
        RollbackCase(
            "submit --wait follows a run reopened by rollback --retry until it is closed for good",
            job: .pause([.step("a"), .step("b").revert(.broken), .failing("c")]),
            steer: [.stopFollower, .run(is: "paused"), .ok("rollback RUN --to a"), .ended, .fixRevert("b"),
                    .ok("rollback RUN --retry"), .rolledBack(to: "a"), .continueFollower,
                    .followerSays("note: the operator retries the failed revert"), .fix("c"), .ok("resume RUN")],
            ledger: ["exec a", "exec b", "fail c", "revert c", "revert-failed b", "revert b", "revert a", "exec a", "exec b", "exec c"],
            status: "succeeded", follow: true),
    ]
}
