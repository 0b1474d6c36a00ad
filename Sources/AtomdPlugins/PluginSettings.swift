import AtomdSpec
import Foundation

/// How plugins are found, trusted and run: the `plugins:` section of the
/// agent configuration.
public struct PluginSettings: Sendable {
    /// Where plugins are looked for, in order; the first file for a name wins.
    public var directories: [String]
    /// When set, only plugin files whose SHA-256 (hex) is listed are loaded.
    public var allowedSHA256: Set<String>?
    /// Plugins loaded into the agent itself instead of a plugin host.
    public var inProcess: Set<String>
    /// The longest one call may take before its plugin host is killed
    /// (a step's own `timeout:` applies as well).
    public var callTimeout: Duration
    /// How long a cancelled call has to return before its host is killed.
    public var cancelGrace: Duration
    /// A plugin host's data limit (RLIMIT_DATA); a host past half of it
    /// after a call is replaced. Nil: no limit.
    public var memoryLimit: Int?
    /// Idle hosts kept per plugin for the next call.
    public var idleHosts: Int
    /// The program that serves `plugin-host` (atomd itself).
    public var hostExecutable: String
    /// Owners trusted for plugin files and their directories: root and the agent's user.
    public var trustedOwners: Set<uid_t>

    public init(directories: [String], allowedSHA256: Set<String>? = nil, inProcess: Set<String> = [],
                callTimeout: Duration = .seconds(600), cancelGrace: Duration = .seconds(5),
                memoryLimit: Int? = 1 << 30, idleHosts: Int = 2, hostExecutable: String = "/proc/self/exe",
                trustedOwners: Set<uid_t> = [0, getuid()]) {
        self.directories = directories
        self.allowedSHA256 = allowedSHA256
        self.inProcess = inProcess
        self.callTimeout = callTimeout
        self.cancelGrace = cancelGrace
        self.memoryLimit = memoryLimit
        self.idleHosts = idleHosts
        self.hostExecutable = hostExecutable
        self.trustedOwners = trustedOwners
    }

    /// How a plugin runs.
    public func isolation(of plugin: String) -> Isolation {
        inProcess.contains(plugin) ? .inProcess : .isolated
    }
}

/// Where a plugin's code runs.
public enum Isolation: String, Sendable, Codable {
    /// In a plugin host process: a crash, hang or leak fails only the step.
    case isolated
    /// In the agent: faster, for trusted plugins only.
    case inProcess = "in-process"
}

extension PluginSettings {
    /// The `plugins:` section of `config`, with defaults for what it leaves
    /// out: plugins in HOME/plugins, relative directories relative to the
    /// configuration file.
    public init(_ config: AgentConfig, home: String) {
        let plugins = config.plugins
        let base = config.file.map { ($0 as NSString).deletingLastPathComponent } ?? ""
        let directories = plugins.directories.map { configured in
            configured.map { $0.hasPrefix("/") || base.isEmpty ? $0 : base + "/" + $0 }
        } ?? [home + "/plugins"]
        self.init(directories: directories, allowedSHA256: plugins.allowSHA256, inProcess: plugins.inProcess)
        if let timeout = plugins.callTimeout { callTimeout = timeout }
        if let grace = plugins.cancelGrace { cancelGrace = grace }
        if let limit = plugins.memoryLimit { memoryLimit = limit == 0 ? nil : limit }
        if let idle = plugins.idleHosts { idleHosts = idle }
    }
}
