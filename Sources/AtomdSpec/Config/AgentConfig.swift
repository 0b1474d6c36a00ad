/// The agent configuration file (`atomd.yaml`). Every section is optional;
/// what is not set keeps its default.
public struct AgentConfig: Sendable, Hashable {
    /// The file it was read from, for messages and relative paths.
    public var file: String?
    public var plugins = PluginConfig()

    public init(file: String? = nil) {
        self.file = file
    }
}

/// `plugins:` in the agent configuration.
public struct PluginConfig: Sendable, Hashable {
    /// Where plugins are found, in order. Relative paths are relative to the
    /// configuration file's directory. Nil: HOME/plugins.
    public var directories: [String]?
    /// Plugin names mapped to `isolated` (the default) or `in-process`.
    public var inProcess: Set<String> = []
    /// When set, only plugin files with these SHA-256 digests load.
    public var allowSHA256: Set<String>?
    public var callTimeout: Duration?
    public var cancelGrace: Duration?
    /// Bytes; nil: the default. `unlimited` is 0.
    public var memoryLimit: Int?
    public var idleHosts: Int?

    public init() {}
}
