/// The character rules for names in job files.
enum NamePattern {
    /// Step ids: `[a-z0-9_-]+`, so they read the same in paths, logs and expressions.
    case stepID
    /// Variables, secrets, outputs: `[A-Za-z_][A-Za-z0-9_]*`.
    case identifier
    /// Job names and lock names: `[A-Za-z0-9_.:/-]+`.
    case label

    var rule: String {
        switch self {
        case .stepID: "use lowercase letters, digits, '_' and '-'"
        case .identifier: "use letters, digits and '_', not starting with a digit"
        case .label: "use letters, digits and '_', '.', ':', '/', '-'"
        }
    }

    func matches(_ text: String) -> Bool {
        guard !text.isEmpty, text.count <= 128 else { return false }
        let scalars = text.unicodeScalars
        switch self {
        case .stepID:
            return scalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" }
        case .identifier:
            guard let first = scalars.first, !("0"..."9").contains(first) else { return false }
            return scalars.allSatisfy { ("0"..."9").contains($0) || ("a"..."z").contains($0) || ("A"..."Z").contains($0) || $0 == "_" }
        case .label:
            return scalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "_.:/-".unicodeScalars.contains($0) }
        }
    }
}
