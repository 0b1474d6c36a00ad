import ArgumentParser
import AtomdAgent
import AtomdPlugins
import AtomdSpec
import Foundation

struct PluginsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "List the plugins atomd can load, with their atoms, or inspect one.",
        discussion: """
            Plugins are shared libraries (NAME.so or libNAME.so) in the plugin directories of the \
            agent configuration (default HOME/plugins). Before a plugin is loaded, its file and \
            every directory above it must be owned by root or by atomd's user and writable by \
            nobody else (symlinks are resolved and checked too), and, when the configuration has \
            an allowlist, its SHA-256 must be on it.

            Each plugin runs isolated in a plugin host process unless the configuration says \
            `isolation: { NAME: in-process }`. Listing loads every plugin the way a run would, so \
            a plugin that would be refused is shown with the reason.

            Exit codes: 0 every plugin loads; 2 some plugin cannot be loaded (or no such plugin).
            """,
        subcommands: [ListPlugins.self, InspectPlugin.self],
        defaultSubcommand: ListPlugins.self
    )
}

/// The options both plugin commands take.
struct PluginCommandOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The atomd home (its plugins directory and atomd.yaml).", valueName: "dir"))
    var home = "./.atomd"

    @OptionGroup var configOptions: ConfigOptions

    @OptionGroup var output: OutputOptions

    func inventory() async throws -> [PluginListing] {
        let catalog = PluginCatalog(settings: try configOptions.pluginSettings(home: home))
        defer { catalog.shutDown() }
        return await catalog.inventory()
    }
}

struct ListPlugins: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List plugins, versions, atoms, isolation and load errors.")

    @OptionGroup var options: PluginCommandOptions

    func run() async throws {
        let listings = try await options.inventory()
        if options.output.json {
            try Output.json(listings.map(PluginReport.init))
        } else if listings.isEmpty {
            let directories = try options.configOptions.pluginSettings(home: options.home).directories
            Output.line("no plugins in \(directories.joined(separator: ", "))")
        } else {
            for listing in listings { PluginPrinter.summary(listing) }
        }
        if listings.contains(where: { $0.error != nil }) { throw AtomdExit.usage.code }
    }
}

struct InspectPlugin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show a plugin's atoms with their input schemas.")

    @Argument(help: ArgumentHelp("The plugin's name (as in uses: NAME.ATOM).", valueName: "name"))
    var name: String

    @OptionGroup var options: PluginCommandOptions

    func run() async throws {
        let listings = try await options.inventory()
        guard let listing = listings.first(where: { $0.name == name }) else {
            Output.error("error: no plugin named '\(name)'; `atomd plugins` lists them")
            throw AtomdExit.usage.code
        }
        if options.output.json {
            try Output.json(PluginReport(listing))
        } else {
            PluginPrinter.details(listing)
        }
        if listing.error != nil { throw AtomdExit.usage.code }
    }
}
