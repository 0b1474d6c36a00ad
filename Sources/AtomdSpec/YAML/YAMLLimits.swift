/// Bounds on what a job file may contain, enforced while parsing so that a
/// hostile file is refused before it costs time or memory.
public struct YAMLLimits: Sendable, Hashable {
    /// Largest file accepted, in bytes.
    public var maxBytes: Int
    /// Deepest nesting of sequences and mappings.
    public var maxDepth: Int
    /// Most nodes, counting every alias as the full size of what it repeats.
    public var maxNodes: Int

    public init(maxBytes: Int = 1 << 20, maxDepth: Int = 64, maxNodes: Int = 100_000) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
        self.maxNodes = maxNodes
    }

    /// The limits of DESIGN.md section 2 for job files.
    public static let jobFile = YAMLLimits()
}
