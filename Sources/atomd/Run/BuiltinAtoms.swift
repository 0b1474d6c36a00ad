import AtomdEngine
import AtomdHTTP
import AtomdPlugins
import AtomdShell
import AtomdSpec

/// The atoms a run can use: those built into atomd, and the atoms of the
/// plugins the job names.
enum BuiltinAtoms {
    /// Step logs go under `home/logs`.
    static func registry(home: String) -> AtomRegistry {
        var registry = AtomRegistry(TestAtoms.all())
        registry.register(ShellAtom(supervisor: ProcessSupervisor(logDirectory: home + "/logs")))
        registry.register(HTTPAtom())
        return registry
    }

    /// The built-in atoms plus the plugins `job` uses, each loaded with its
    /// isolation. A plugin that cannot be loaded stops the command (exit 2)
    /// before anything runs.
    static func registry(home: String, for job: Job, catalog: PluginCatalog) async throws -> AtomRegistry {
        var registry = registry(home: home)
        let builtIn = Set(registry.names.compactMap { $0.split(separator: ".").first.map(String.init) })
        let plugins = Set(job.pluginAtoms.map(\.plugin)).subtracting(builtIn)
        guard !plugins.isEmpty else { return registry }
        do {
            for atom in try await catalog.atoms(forPlugins: plugins) { registry.register(atom) }
        } catch {
            for failure in error.errors { Output.error("error: plugin \(failure)") }
            throw AtomdExit.usage.code
        }
        return registry
    }
}
