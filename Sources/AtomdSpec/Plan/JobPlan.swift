/// What a job will do, computed without running it: the run order with each
/// step's scope, and the order compensation would revert steps in.
public struct JobPlan: Sendable, Codable, Hashable {
    public var job: String
    public var file: String
    public var onFailure: FailurePolicy
    public var steps: [PlannedStep]
    public var finally: [PlannedStep]
    /// Compensation when every step has run: newest first, groups inside-out.
    public var compensation: [CompensationStage]

    enum CodingKeys: String, CodingKey {
        case job, file, onFailure = "on_failure", steps, finally, compensation
    }

    public init(_ job: Job) {
        self.job = job.name
        self.file = job.file
        onFailure = job.onFailure
        steps = PlannedStep.list(job.steps, scope: .sequence(group: nil), defaults: job.defaults)
        finally = PlannedStep.list(job.finally, scope: .finally, defaults: job.defaults)
        compensation = CompensationStage.stages(for: job.steps, mode: .sequence)
    }
}
