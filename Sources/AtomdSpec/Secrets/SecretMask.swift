import Foundation
import Synchronization

/// Replaces secret values with `***` in everything atomd stores or shows
/// (DESIGN.md section 2): step log lines, journal events, summaries, error
/// reports, API answers. Shared by a run's engine and its atoms, and grows
/// while the run goes on: values derived from secrets and outputs under
/// `mask:` join it when they are computed, before anything can show them.
public final class SecretMask: Sendable {
    /// What a secret becomes.
    public static let mask = "***"
    /// Shorter values are not masked: they would mask half of every line.
    public static let minimumLength = 3

    /// Every form to replace, longest first, so that a secret containing
    /// another is masked whole.
    private let forms: Mutex<[String]>

    public init(_ values: some Sequence<String> = []) {
        forms = Mutex(Self.sorted(values.flatMap(SecretForms.of)))
    }

    /// Masks `value` (and its encoded forms) from now on.
    public func add(_ value: String) {
        let new = SecretForms.of(value)
        guard !new.isEmpty else { return }
        forms.withLock { forms in
            let missing = new.filter { !forms.contains($0) }
            if !missing.isEmpty { forms = Self.sorted(forms + missing) }
        }
    }

    /// Masks every string in `value`.
    public func add(_ value: JSONValue) {
        switch value {
        case .string(let text): add(text)
        case .array(let items): items.forEach(add)
        case .object(let members): members.values.forEach(add)
        case .null, .bool, .integer, .number: break
        }
    }

    /// Whether there is anything to mask.
    public var isEmpty: Bool { forms.withLock { $0.isEmpty } }

    public func callAsFunction(_ text: String) -> String {
        let forms = forms.withLock { $0 }
        guard !forms.isEmpty else { return text }
        var result = text
        for form in forms where result.contains(form) {
            result = result.replacingOccurrences(of: form, with: Self.mask)
        }
        return result
    }

    public func callAsFunction(_ value: JSONValue) -> JSONValue {
        guard !isEmpty else { return value }
        switch value {
        case .string(let text): return .string(self(text))
        case .array(let items): return .array(items.map { self($0) })
        case .object(let members): return .object(members.mapValues { self($0) })
        case .null, .bool, .integer, .number: return value
        }
    }

    private static func sorted(_ forms: [String]) -> [String] {
        Array(Set(forms)).sorted { $0.utf8.count > $1.utf8.count || ($0.utf8.count == $1.utf8.count && $0 < $1) }
    }
}
