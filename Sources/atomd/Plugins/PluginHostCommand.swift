import ArgumentParser
import AtomdPlugins
import Foundation

/// `atomd plugin-host`: what the agent starts to run an isolated plugin.
/// Not for operators, hence hidden.
struct PluginHostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugin-host",
        abstract: "Serve one plugin, loaded from descriptor 3, over frames on stdin and stdout (started by atomd).",
        shouldDisplay: false
    )

    @Option(help: "The plugin's path, for messages.")
    var file: String

    @Option(help: "The plugin name the file name promises.")
    var name: String?

    @Option(name: .customLong("memory-limit"), help: "RLIMIT_DATA in bytes.")
    var memoryLimit: Int?

    func run() throws {
        let status = PluginHostServer.serve(pluginFD: 3, file: file, expectedName: name, memoryLimit: memoryLimit)
        throw ExitCode(status)
    }
}
