import AtomdSpec

/// Replaces secret values with `***` in everything the engine publishes.
struct Redactor: Sendable {
    private let secrets: [String]
    /// What a secret value becomes.
    static let mask = "***"

    init(_ values: some Sequence<String>) {
        // Longest first, so a secret containing another is masked whole;
        // very short values would mask half of every log line.
        secrets = values.filter { $0.count >= 3 }.sorted { $0.count > $1.count }
    }

    func callAsFunction(_ text: String) -> String {
        guard !secrets.isEmpty else { return text }
        var result = text
        for secret in secrets where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: Self.mask)
        }
        return result
    }

    func callAsFunction(_ value: JSONValue) -> JSONValue {
        guard !secrets.isEmpty else { return value }
        switch value {
        case .string(let text): return .string(self(text))
        case .array(let items): return .array(items.map { self($0) })
        case .object(let members): return .object(members.mapValues { self($0) })
        default: return value
        }
    }
}
