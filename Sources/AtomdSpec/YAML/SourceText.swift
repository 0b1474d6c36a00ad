/// The bytes of a job file, for finding where inside a scalar an expression
/// starts. libyaml only reports where the scalar starts; an expression in a
/// quoted or block scalar is found by walking the source from there.
///
/// Kept as the file's UTF-8 bytes and the offsets its lines start at: a
/// few bytes per line, not an array of characters per line (16 bytes a
/// character, which for a 1 MiB job was most of validation's memory).
/// Columns count Unicode scalars, as libyaml's do.
struct SourceText {
    private let bytes: [UInt8]
    private let lineStarts: [Int]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        var starts = [0]
        for (offset, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") { starts.append(offset + 1) }
        lineStarts = starts
    }

    /// The positions of the first `count` occurrences of `needle` (ASCII) at
    /// or after `start`, found in one pass (a scalar may hold thousands of
    /// expressions).
    func locate(_ needle: String, count: Int, from start: SourceLocation) -> [SourceLocation] {
        let needle = Array(needle.utf8)
        guard !needle.isEmpty, count > 0, start.line >= 1, start.line <= lineStarts.count else { return [] }
        var line = start.line
        var column = 1
        var offset = lineStarts[line - 1]
        // Move to the start column, a scalar at a time, within its line.
        while column < start.column, offset < bytes.count, bytes[offset] != UInt8(ascii: "\n") {
            offset = nextScalar(after: offset)
            column += 1
        }
        var found: [SourceLocation] = []
        while offset < bytes.count, found.count < count {
            if bytes[offset] == needle[0], offset + needle.count <= bytes.count,
               bytes[offset..<offset + needle.count].elementsEqual(needle) {
                found.append(SourceLocation(line: line, column: column))
                offset += needle.count
                column += needle.count
            } else if bytes[offset] == UInt8(ascii: "\n") {
                offset += 1
                line += 1
                column = 1
            } else {
                offset = nextScalar(after: offset)
                column += 1
            }
        }
        return found
    }

    /// The offset of the scalar after the one starting at `offset`.
    private func nextScalar(after offset: Int) -> Int {
        var next = offset + 1
        // UTF-8 continuation bytes are 10xxxxxx.
        while next < bytes.count, bytes[next] & 0xC0 == 0x80 { next += 1 }
        return next
    }
}
