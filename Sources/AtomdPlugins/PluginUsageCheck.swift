import AtomdEngine
import AtomdSpec

/// What only the plugins can tell about a job: that every `uses:
/// PLUGIN.ATOM` names a plugin and an atom that exist, and that its `with:`
/// fits the atom's input schema. A job that would fail there after earlier
/// steps changed things is refused before it runs.
public enum PluginUsageCheck {
    /// Against the plugins found (`PluginCatalog.inventory()`), for
    /// `atomd validate` and `submit`. Plugins whose names are in `builtIn`
    /// (the test atoms) are atomd's own.
    public static func diagnostics(_ job: Job, listings: [PluginListing], builtIn: Set<String> = ["test"]) -> [Diagnostic] {
        var found: [String: Result<PluginDescriptor, PluginError>] = [:]
        for listing in listings where found[listing.name] == nil {
            found[listing.name] = listing.descriptor.map { .success($0) }
                ?? .failure(listing.error ?? PluginError(listing.path, "cannot be loaded"))
        }
        return diagnostics(job, found: found, builtIn: builtIn)
    }

    /// Against the atoms a run loaded: `atomd run` and the agent refuse a
    /// job whose `with:` breaks a schema before any step runs.
    public static func diagnostics(_ job: Job, loaded atoms: [any Atom]) -> [Diagnostic] {
        var byPlugin: [String: [AtomDescriptor]] = [:]
        for case let atom as PluginAtom in atoms { byPlugin[atom.plugin, default: []].append(atom.descriptor) }
        let found = byPlugin.mapValues { atoms -> Result<PluginDescriptor, PluginError> in
            .success(PluginDescriptor(name: "", version: "", summary: "", abiMajor: 0, abiMinor: 0, atoms: atoms))
        }
        return diagnostics(job, found: found, builtIn: Set(job.pluginAtoms.map(\.plugin)).subtracting(byPlugin.keys))
    }

    private static func diagnostics(_ job: Job, found: [String: Result<PluginDescriptor, PluginError>],
                                    builtIn: Set<String>) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for step in job.allSteps {
            for case (let place, .plugin(let use)) in step.actions where !builtIn.contains(use.plugin) {
                let report = { (message: String, hint: String?) in
                    diagnostics.append(Diagnostic(file: job.file, location: step.location,
                                                  message: "step '\(step.id)': \(place.isEmpty ? "" : place + ": ")\(message)", hint: hint))
                }
                let descriptor: PluginDescriptor
                switch found[use.plugin] {
                case nil:
                    report("no plugin '\(use.plugin)' in the plugin directories",
                           Suggestion.hint(for: use.plugin, in: found.keys.sorted())
                               ?? "plugins found: \(found.keys.sorted().joined(separator: ", ")); see atomd plugins")
                    continue
                case .failure(let error)?:
                    report("plugin '\(use.plugin)' cannot be loaded: \(error)", "see atomd plugins")
                    continue
                case .success(let loaded)?:
                    descriptor = loaded
                }
                guard let atom = descriptor.atom(named: use.atom) else {
                    report("plugin '\(use.plugin)' has no atom '\(use.atom)'",
                           Suggestion.hint(for: use.atom, in: descriptor.atoms.map(\.name))
                               ?? "its atoms: \(descriptor.atoms.map(\.name).joined(separator: ", "))")
                    continue
                }
                guard let schema = atom.inputSchema else { continue }
                for problem in InputSchemaCheck.problems(use.with, schema: schema) {
                    report("\(use.qualifiedName): \(problem)", "atomd plugins inspect \(use.plugin) shows its input schema")
                }
            }
        }
        return diagnostics
    }
}
