import AtomdAgent
import AtomdEngine
import AtomdPlugins
import AtomdSpec

/// The atoms a foreground command can use (see `AtomSet`).
enum BuiltinAtoms {
    /// Step logs go under `home/logs`.
    static func registry(home: String) -> AtomRegistry {
        AtomSet.builtIn(logs: home + "/logs")
    }

    /// A plugin that cannot be loaded stops the command (exit 2) before
    /// anything runs.
    static func registry(home: String, for job: Job, catalog: PluginCatalog) async throws -> AtomRegistry {
        do {
            return try await AtomSet.registry(logs: home + "/logs", for: job, catalog: catalog)
        } catch {
            for failure in error.errors { Output.error("error: plugin \(failure)") }
            throw AtomdExit.usage.code
        }
    }
}
