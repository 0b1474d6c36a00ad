import ArgumentParser
import AtomdPlugins
import AtomdSpec
import Foundation

/// `--config`: the agent configuration, shared by the commands that load plugins.
struct ConfigOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The agent configuration (plugin directories, isolation, allowlist). Default: HOME/atomd.yaml when it exists.",
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
        let config = try load(home: home)
        let plugins = config.plugins
        let base = config.file.map { ($0 as NSString).deletingLastPathComponent } ?? ""
        let directories = plugins.directories.map { configured in
            configured.map { $0.hasPrefix("/") || base.isEmpty ? $0 : base + "/" + $0 }
        } ?? [home + "/plugins"]
        var settings = PluginSettings(directories: directories, allowedSHA256: plugins.allowSHA256, inProcess: plugins.inProcess)
        if let timeout = plugins.callTimeout { settings.callTimeout = timeout }
        if let grace = plugins.cancelGrace { settings.cancelGrace = grace }
        if let limit = plugins.memoryLimit { settings.memoryLimit = limit == 0 ? nil : limit }
        if let idle = plugins.idleHosts { settings.idleHosts = idle }
        return settings
    }
}
