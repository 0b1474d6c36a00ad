/// The lines of a job file, for finding where inside a scalar an expression
/// starts. libyaml only reports where the scalar starts; an expression in a
/// quoted or block scalar is found by walking the source from there.
struct SourceText {
    private let lines: [[Character]]

    init(_ text: String) {
        lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(Array.init)
    }

    /// The position of the `occurrence`-th (0-based) `needle` at or after `start`.
    func locate(_ needle: String, occurrence: Int, from start: SourceLocation) -> SourceLocation? {
        let needle = Array(needle)
        var seen = 0
        var line = start.line - 1
        var column = start.column - 1
        while line < lines.count {
            let chars = lines[line]
            while column + needle.count <= chars.count {
                if Array(chars[column..<column + needle.count]) == needle {
                    if seen == occurrence { return SourceLocation(line: line + 1, column: column + 1) }
                    seen += 1
                    column += needle.count
                } else {
                    column += 1
                }
            }
            line += 1
            column = 0
        }
        return nil
    }
}
