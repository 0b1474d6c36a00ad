import AtomdEngine
import AtomdPlugins
import Foundation

/// A run the agent has started and not yet filed.
struct LiveRun: Sendable {
    let runID: String
    /// Its file in processing/.
    let file: String
    let jobName: String
    let handle: RunHandle
    /// The plugin catalog its atoms came from: a reload must not shut it
    /// down while this run uses it.
    let catalog: PluginCatalog
    let started: ContinuousClock.Instant
}
