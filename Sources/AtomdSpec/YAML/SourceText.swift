/// The lines of a job file, for finding where inside a scalar an expression
/// starts. libyaml only reports where the scalar starts; an expression in a
/// quoted or block scalar is found by walking the source from there.
struct SourceText {
    private let lines: [[Character]]

    init(_ text: String) {
        lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(Array.init)
    }

    /// The positions of the first `count` occurrences of `needle` at or after
    /// `start`, found in one pass (a scalar may hold thousands of expressions).
    func locate(_ needle: String, count: Int, from start: SourceLocation) -> [SourceLocation] {
        let needle = Array(needle)
        var found: [SourceLocation] = []
        var line = start.line - 1
        var column = start.column - 1
        while line < lines.count, found.count < count {
            let chars = lines[line]
            while column + needle.count <= chars.count, found.count < count {
                if needle.indices.allSatisfy({ chars[column + $0] == needle[$0] }) {
                    found.append(SourceLocation(line: line + 1, column: column + 1))
                    column += needle.count
                } else {
                    column += 1
                }
            }
            line += 1
            column = 0
        }
        return found
    }
}
