import ArgumentParser
import AtomdPlugins
import AtomdSpec
import Foundation

/// `--config`: the agent configuration, shared by the commands that load plugins.
struct ConfigOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The agent configuration (agent:, api: and plugins:; every key in etc/atomd.yaml). Default: HOME/atomd.yaml when it exists.",
        valueName: "file"))
    var config: String?

    /// The configuration; an invalid one stops the command with exit code 2.
    func load(home: String) throws -> AgentConfig {
        let path = config ?? home + "/atomd.yaml"
        guard config != nil || FileManager.default.fileExists(atPath: path) else { return AgentConfig() }
        do {
            return try ConfigLoader.load(path: path)
        } catch {
            Output.error(error.description)
            throw AtomdExit.usage.code
        }
    }

    /// The plugin settings of the configuration, with this binary as the plugin host.
    func pluginSettings(home: String) throws -> PluginSettings {
        PluginSettings(try load(home: home), home: home)
    }
}
