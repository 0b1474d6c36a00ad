import AtomdEngine
import AtomdHTTP
import AtomdPlugins
import AtomdShell
import AtomdSpec
import Foundation

/// The atoms a run can use: those built into atomd, and the atoms of the
/// plugins its job names. One place for `atomd run` and the agent.
public enum AtomSet {
    /// The variable that makes the test atoms (`test.noop`, `test.fail`,
    /// `test.sleep`, `test.world`) available: tests and demos set it; a
    /// production agent never has them.
    public static let testAtomsVariable = "ATOMD_TEST_ATOMS"

    /// Whether this process has the test atoms.
    public static var testAtomsEnabled: Bool { ProcessInfo.processInfo.environment[testAtomsVariable] == "1" }

    /// Steps log under `logs`/RUN/STEP.ATTEMPT.log: shell steps their
    /// output, http and plugin steps the lines their atoms log.
    public static func builtIn(logs: String) -> AtomRegistry {
        var registry = AtomRegistry(testAtomsEnabled ? TestAtoms.all() : [])
        registry.register(ShellAtom(supervisor: ProcessSupervisor(logDirectory: logs)))
        registry.register(LoggedAtom(HTTPAtom(), logDirectory: logs))
        return registry
    }

    /// The built-in atoms plus the plugins `job` uses, each loaded with its
    /// isolation.
    public static func registry(logs: String, for job: Job, catalog: PluginCatalog) async throws(PluginLoadErrors) -> AtomRegistry {
        var registry = builtIn(logs: logs)
        let builtIn = Set(registry.names.compactMap { $0.split(separator: ".").first.map(String.init) })
        let plugins = Set(job.pluginAtoms.map(\.plugin)).subtracting(builtIn)
        guard !plugins.isEmpty else { return registry }
        if plugins.contains("test"), !testAtomsEnabled {
            throw PluginLoadErrors(errors: [PluginError(job.file, "the job uses test atoms (test.*), which are for tests and demos only",
                                                        hint: "run it with \(testAtomsVariable)=1 in the environment")])
        }
        let loaded = try await catalog.atoms(forPlugins: plugins)
        let problems = PluginUsageCheck.diagnostics(job, loaded: loaded)
        guard problems.isEmpty else {
            throw PluginLoadErrors(errors: problems.map { PluginError("\($0.file):\($0.location)", $0.message, hint: $0.hint) })
        }
        for atom in loaded { registry.register(LoggedAtom(atom, logDirectory: logs)) }
        return registry
    }
}
