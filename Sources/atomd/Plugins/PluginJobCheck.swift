import AtomdPlugins
import AtomdSpec
import Foundation

/// `uses:` resolved against the plugins `atomd run` would load (HOME/plugins
/// and the configuration's directories), for `validate` and `submit`.
enum PluginJobCheck {
    static let builtIn: Set<String> = ["test"]

    /// The problems of each job, in order. When no plugin directory exists,
    /// nothing can be checked: a warning says so and no problem is reported.
    static func diagnostics(for jobs: [Job], home: String, configOptions: ConfigOptions) async throws -> [[Diagnostic]] {
        guard jobs.contains(where: { $0.pluginAtoms.contains { !builtIn.contains($0.plugin) } }) else {
            return jobs.map { _ in [] }
        }
        let settings = try configOptions.pluginSettings(home: home)
        let existing = settings.directories.filter { directory in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) && isDirectory.boolValue
        }
        guard !existing.isEmpty else {
            Output.error("warning: plugin atoms were not checked: no plugin directory (\(settings.directories.joined(separator: ", "))); "
                         + "give --home or --config as for atomd run")
            return jobs.map { _ in [] }
        }
        let catalog = PluginCatalog(settings: settings)
        let listings = await catalog.inventory()
        catalog.shutDown()
        return jobs.map { PluginUsageCheck.diagnostics($0, listings: listings, builtIn: builtIn) }
    }
}
