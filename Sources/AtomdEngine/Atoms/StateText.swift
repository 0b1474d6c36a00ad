import AtomdSpec
import Foundation

/// The text a `state:` probe prints (DESIGN.md section 3): a JSON object,
/// or `KEY=VALUE` lines. Blank lines and lines starting with `#` are
/// skipped; a value keeps everything after the first `=`, spaces included.
public enum StateText {
    public static func parse(_ text: String) throws(AtomError) -> JSONValue {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("{") {
            guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(trimmed.utf8)), case .object = value else {
                throw AtomError("the state probe printed something that starts like JSON but is not a JSON object")
            }
            return value
        }
        var members: [String: JSONValue] = [:]
        for (index, line) in trimmed.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = line.trimmingCharacters(in: .init(charactersIn: "\r"))
            if line.trimmingCharacters(in: .whitespaces).isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "="), isKey(line[..<equals]) else {
                throw AtomError("the state probe's output line \(index + 1) is not KEY=VALUE: '\(line.prefix(80))'; "
                                + "print KEY=VALUE lines or one JSON object, and send other text to stderr")
            }
            members[String(line[..<equals])] = .string(String(line[line.index(after: equals)...]))
        }
        return .object(members)
    }

    private static func isKey(_ text: Substring) -> Bool {
        guard let first = text.first, first.isLetter || first == "_" else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") }
    }
}
