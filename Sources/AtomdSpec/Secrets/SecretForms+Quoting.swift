/// How programs print a string they quote or escape: bash's `set -x` and
/// `${x@Q}`, `printf %q`, hex dumps, JSON that escapes all but ASCII,
/// Python's `repr` and `ascii`, HTML escapes, Perl's `quotemeta`, and the
/// value in another case or reversed. Only the inside of the quotes is a form: it
/// is what sits in the text, whatever quote surrounds it.
extension SecretForms {
    static func quoted(_ value: String) -> [String] {
        let bytes = Array(value.utf8)
        var forms = [
            // 'it'\''s': set -x, ${x@Q}, Python's shlex.quote.
            value.replacingOccurrences(of: "'", with: "'\\''"),
            backslashEscaped(value),
            escapedBytes(bytes) { "\\" + String($0, radix: 8).leftPadded(3) },
            bytes.map { hex($0, uppercase: false) }.joined(),
            bytes.map { hex($0, uppercase: true) }.joined(),
            jsonText(value, asciiOnly: true),
        ]
        for quote in ["'", "\""] { forms.append(pythonRepr(value, quote: quote, asciiOnly: false)) }
        for quote in ["'", "\""] { forms.append(pythonRepr(value, quote: quote, asciiOnly: true)) }
        forms.append(escapedBytes(bytes) { "\\x" + hex($0, uppercase: false) })
        forms += htmlEscaped(value)
        // Perl's quotemeta: a backslash before each ASCII non-word character.
        forms.append(String(value.flatMap { character -> [Character] in
            character.isASCII && !(character.isLetter || character.isNumber || character == "_") ? ["\\", character] : [character]
        }))
        // Changed case (${x^^}, tr a-z A-Z) and reversed (rev).
        forms += [value.uppercased(), value.lowercased(), String(value.reversed())]
        return forms
    }

    /// HTML and XML escapes, with each spelling of the apostrophe in use.
    private static func htmlEscaped(_ value: String) -> [String] {
        let base = value.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        return ["&#x27;", "&#39;", "&apos;", "'"].map { base.replacingOccurrences(of: "'", with: $0) }
    }

    private static func hex(_ byte: UInt8, uppercase: Bool) -> String {
        let digits = Array(uppercase ? "0123456789ABCDEF" : "0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }

    /// `printf %q` in a UTF-8 locale: a backslash before each character the
    /// shell treats specially.
    private static func backslashEscaped(_ value: String) -> String {
        let plain = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-+,:=@%^")
        var out = ""
        for character in value {
            if !plain.contains(character), character.isASCII { out.append("\\") }
            out.append(character)
        }
        return out
    }

    /// Bytes with C-style escapes, as bash's `$'…'` (octal: `printf %q`,
    /// `set -x`) and Python's `repr(bytes)` (`\xc3\xb6`) write them.
    private static func escapedBytes(_ bytes: [UInt8], numeric: (UInt8) -> String) -> String {
        var out = ""
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "'"): out += "\\'"
            case UInt8(ascii: "\\"): out += "\\\\"
            case UInt8(ascii: "\n"): out += "\\n"
            case UInt8(ascii: "\t"): out += "\\t"
            case UInt8(ascii: "\r"): out += "\\r"
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(byte))
            default: out += numeric(byte)
            }
        }
        return out
    }

    /// The inside of Python's `repr(str)` (or `ascii(str)`) in the given quote.
    private static func pythonRepr(_ value: String, quote: String, asciiOnly: Bool) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where String(scalar) == quote: out += "\\" + quote
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += "\\x" + String(scalar.value, radix: 16).leftPadded(2)
            case _ where asciiOnly && scalar.value > 0x7F:
                let digits = String(scalar.value, radix: 16)
                out += scalar.value <= 0xFF ? "\\x" + digits.leftPadded(2)
                    : scalar.value <= 0xFFFF ? "\\u" + digits.leftPadded(4) : "\\U" + digits.leftPadded(8)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
