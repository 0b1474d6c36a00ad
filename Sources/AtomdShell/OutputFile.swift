/// Parses what a step wrote to `$ATOMD_OUTPUT`: `key=value` lines, and
/// `key<<DELIMITER` ... `DELIMITER` blocks for multi-line values (the GitHub
/// Actions format).
enum OutputFile {
    static let maxBytes = 1 << 20

    static func parse(_ bytes: [UInt8]) throws(ShellError) -> [String: String] {
        guard bytes.count <= maxBytes else {
            throw ShellError("$ATOMD_OUTPUT holds \(bytes.count) bytes; the limit is \(maxBytes) (write large data to a file and output its path)")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        if lines.last?.isEmpty == true { lines.removeLast() }
        var outputs: [String: String] = [:]
        var index = 0
        while index < lines.count {
            let line = lines[index]
            let number = index + 1
            index += 1
            if line.isEmpty { continue }
            if let marker = line.range(of: "<<"), !line[..<marker.lowerBound].contains("=") {
                let key = String(line[..<marker.lowerBound])
                let delimiter = String(line[marker.upperBound...])
                try checkKey(key, line: number)
                guard !delimiter.isEmpty else { throw ShellError("$ATOMD_OUTPUT line \(number): '\(key)<<' needs a delimiter, e.g. \(key)<<EOF") }
                var value: [Substring] = []
                var closed = false
                while index < lines.count {
                    let next = lines[index]
                    index += 1
                    if next == delimiter {
                        closed = true
                        break
                    }
                    value.append(next)
                }
                guard closed else {
                    throw ShellError("$ATOMD_OUTPUT line \(number): '\(key)<<\(delimiter)' is never closed by a line '\(delimiter)'")
                }
                outputs[key] = value.joined(separator: "\n")
            } else if let equals = line.firstIndex(of: "=") {
                let key = String(line[..<equals])
                try checkKey(key, line: number)
                outputs[key] = String(line[line.index(after: equals)...])
            } else {
                throw ShellError("$ATOMD_OUTPUT line \(number): expected key=value or key<<DELIMITER, found '\(line.prefix(60))'")
            }
        }
        return outputs
    }

    private static func checkKey(_ key: String, line: Int) throws(ShellError) {
        let valid = !key.isEmpty && key.count <= 128 && key.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_"
        } && !(key.first?.isNumber ?? true)
        guard valid else {
            throw ShellError("$ATOMD_OUTPUT line \(line): '\(key.prefix(60))' is not a valid output name (letters, digits, '_')")
        }
    }
}
