/// Reads the keys of one YAML mapping and reports, at the end, every key that
/// nobody asked for, with a "did you mean" hint.
struct MappingReader {
    let node: YAMLNode
    let what: String
    private let pairs: [YAMLNode.Pair]
    private var known: [String] = []
    private let context: DecodeContext

    /// Nil (after reporting) when `node` is not a mapping.
    init?(_ node: YAMLNode, _ what: String, context: DecodeContext) {
        guard case .mapping(let pairs) = node.kind else {
            context.error(node.location, "\(what) must be a mapping, not \(node.kindName)")
            return nil
        }
        self.node = node
        self.what = what
        self.pairs = pairs
        self.context = context
    }

    var keys: [String] { pairs.map(\.key.scalarText) }

    func has(_ key: String) -> Bool { pairs.contains { $0.key.scalarText == key } }

    mutating func callAsFunction(_ key: String) -> YAMLNode? {
        known.append(key)
        return pairs.first { $0.key.scalarText == key }?.value
    }

    func keyLocation(_ key: String) -> SourceLocation {
        pairs.first { $0.key.scalarText == key }?.key.location ?? node.location
    }

    /// Reports keys that were never read.
    func finish(extraHint: [String: String] = [:]) {
        for pair in pairs {
            let key = pair.key.scalarText
            guard !known.contains(key) else { continue }
            let hint = extraHint[key] ?? Suggestion.hint(for: key, in: known)
                ?? "known keys are: \(known.joined(separator: ", "))"
            context.error(pair.key.location, "unknown key '\(key)' in \(what)", hint: hint)
        }
    }
}
