import AtomdSpec

/// What a plugin declares about itself, read from its C descriptor. A value:
/// the plugin host sends it to the agent in its handshake.
public struct PluginDescriptor: Sendable, Hashable, Codable {
    public var name: String
    public var version: String
    public var summary: String
    /// The ABI version the plugin was built for.
    public var abiMajor: Int
    public var abiMinor: Int
    public var atoms: [AtomDescriptor]

    public init(name: String, version: String, summary: String, abiMajor: Int, abiMinor: Int, atoms: [AtomDescriptor]) {
        self.name = name
        self.version = version
        self.summary = summary
        self.abiMajor = abiMajor
        self.abiMinor = abiMinor
        self.atoms = atoms
    }

    public func atom(named name: String) -> AtomDescriptor? { atoms.first { $0.name == name } }
}

/// One atom of a plugin.
public struct AtomDescriptor: Sendable, Hashable, Codable {
    /// The name within the plugin (`write`); jobs write `PLUGIN.NAME`.
    public var name: String
    public var summary: String
    /// The input's JSON Schema, when the plugin gives one.
    public var inputSchema: JSONValue?
    public var canRevert: Bool
    public var canCheck: Bool

    public init(name: String, summary: String, inputSchema: JSONValue?, canRevert: Bool, canCheck: Bool) {
        self.name = name
        self.summary = summary
        self.inputSchema = inputSchema
        self.canRevert = canRevert
        self.canCheck = canCheck
    }
}
