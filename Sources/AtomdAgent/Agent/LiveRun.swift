import AtomdEngine
import AtomdPlugins
import AtomdSpec
import Foundation

/// A run the agent has started and not yet filed.
struct LiveRun: Sendable {
    let runID: String
    /// Its file in processing/.
    let file: String
    let job: Job
    /// Who submitted it: they may steer it, and what restarts its work is
    /// admitted under their limits.
    let submitter: uid_t
    let handle: RunHandle
    /// The plugin catalog its atoms came from: a reload must not shut it
    /// down while this run uses it.
    let catalog: PluginCatalog
    let started: ContinuousClock.Instant
}

extension LiveRun {
    var jobName: String { job.name }
}
