import AtomdEngine
import AtomdSpec

/// What `atomd validate` knows only with the plugins at hand: that every
/// `uses: PLUGIN.ATOM` names a plugin and an atom that exist, and that its
/// `with:` fits the atom's input schema. A job that would fail there after
/// earlier steps changed things is refused before it runs.
public enum PluginUsageCheck {
    /// `listings`: the plugins found (`PluginCatalog.inventory()`). Plugins
    /// whose names are in `builtIn` (the test atoms) are atomd's own.
    public static func diagnostics(_ job: Job, listings: [PluginListing], builtIn: Set<String> = ["test"]) -> [Diagnostic] {
        var found: [String: PluginListing] = [:]
        for listing in listings where found[listing.name] == nil { found[listing.name] = listing }
        var diagnostics: [Diagnostic] = []
        for step in job.allSteps {
            var actions: [(String, Action)] = [("", step.action)]
            if case .action(let revert) = step.revert { actions.append(("revert: ", revert.action)) }
            if let check = step.check { actions.append(("check: ", check.action)) }
            for case (let place, .plugin(let use)) in actions where !builtIn.contains(use.plugin) {
                let report = { (message: String, hint: String?) in
                    diagnostics.append(Diagnostic(file: job.file, location: step.location,
                                                  message: "step '\(step.id)': \(place)\(message)", hint: hint))
                }
                guard let listing = found[use.plugin] else {
                    report("no plugin '\(use.plugin)' in the plugin directories",
                           Suggestion.hint(for: use.plugin, in: found.keys.sorted())
                               ?? "plugins found: \(found.keys.sorted().joined(separator: ", ")); see atomd plugins")
                    continue
                }
                guard let descriptor = listing.descriptor else {
                    report("plugin '\(use.plugin)' cannot be loaded: \(listing.error?.description ?? "unknown error")", "see atomd plugins")
                    continue
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

    /// The same checks against the atoms a run loaded: `atomd run` and the
    /// agent refuse a job whose `with:` breaks a schema before any step runs.
    public static func diagnostics(_ job: Job, loaded atoms: [any Atom]) -> [Diagnostic] {
        var byPlugin: [String: [AtomDescriptor]] = [:]
        for case let atom as PluginAtom in atoms { byPlugin[atom.plugin, default: []].append(atom.descriptor) }
        let listings = byPlugin.map { plugin, atoms in
            PluginListing(name: plugin, path: "", isolation: .isolated, sha256: nil,
                          descriptor: PluginDescriptor(name: plugin, version: "", summary: "", abiMajor: 0, abiMinor: 0, atoms: atoms),
                          error: nil)
        }
        let used = Set(job.pluginAtoms.map(\.plugin))
        return diagnostics(job, listings: listings, builtIn: used.subtracting(byPlugin.keys))
    }
}
