import Foundation

/// The forms in which a secret's bytes can show up in text atomd stores: as
/// written, line by line, JSON-escaped, percent-encoded, base64-encoded at any
/// position inside a longer encoded text (a Basic-auth header is the base64 of
/// `user:password`, which an API may echo back), and quoted or escaped as
/// shells, hex dumps and Python print strings (SecretForms+Quoting).
enum SecretForms {
    static func of(_ value: String) -> [String] {
        guard value.utf8.count >= SecretMask.minimumLength else { return [] }
        var forms = [value]
        let lines = value.split(whereSeparator: \.isNewline)
        if lines.count > 1 { forms += lines.map(String.init) }
        forms += percentEncoded(value)
        forms += base64Fragments(Array(value.utf8))
        forms += quoted(value)
        // Any of them inside a JSON text: a response body an API echoed.
        forms += forms.flatMap(jsonEscaped)
        var seen: Set<String> = []
        return forms.filter { $0.utf8.count >= SecretMask.minimumLength && seen.insert($0).inserted }
    }

    private static func jsonEscaped(_ value: String) -> [String] {
        let escaped = jsonText(value, asciiOnly: false)
        let slashes = escaped.replacingOccurrences(of: "/", with: "\\/")
        return [escaped, slashes].filter { $0 != value }
    }

    /// The inside of a JSON string holding `value`; with `asciiOnly`, every
    /// character past ASCII as `\uXXXX` (Python's json.dumps, many loggers).
    static func jsonText(_ value: String, asciiOnly: Bool) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || asciiOnly && scalar.value >= 0x7F:
                for unit in String(scalar).utf16 { out += String(format: "\\u%04x", UInt32(unit)) }
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// What encoders leave as it is: only the unreserved characters
    /// (`encodeURIComponent`, Python's `quote(safe='')`), a query value's
    /// characters (what the http atom sends), a path's.
    private static let encoderSets: [CharacterSet] = {
        var query = CharacterSet.urlQueryAllowed
        query.remove(charactersIn: "&=+?#")
        return [CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~"),
                query, .urlPathAllowed]
    }()

    private static func percentEncoded(_ value: String) -> [String] {
        var forms: [String] = []
        for allowed in encoderSets {
            guard let upper = value.addingPercentEncoding(withAllowedCharacters: allowed), upper != value else { continue }
            forms += [upper, lowercaseEscapes(upper), upper.replacingOccurrences(of: "%20", with: "+")]
        }
        return forms
    }

    /// `%2F` written `%2f`, as some encoders do.
    private static func lowercaseEscapes(_ encoded: String) -> String {
        var lower = ""
        var rest = Substring(encoded)
        while let percent = rest.firstIndex(of: "%") {
            lower += rest[..<percent]
            let end = rest.index(percent, offsetBy: 3, limitedBy: rest.endIndex) ?? rest.endIndex
            lower += rest[percent..<end].lowercased()
            rest = rest[end...]
        }
        return lower + rest
    }

    /// The characters of the base64 of `bytes` preceded by 0, 1 or 2 other
    /// bytes that depend on `bytes` alone, in both alphabets.
    private static func base64Fragments(_ bytes: [UInt8]) -> [String] {
        var fragments: [String] = []
        for offset in 0..<3 {
            let length = offset + bytes.count
            var encoded = Array(Data(Array(repeating: 0, count: offset) + bytes).base64EncodedString().utf8)
            while encoded.last == UInt8(ascii: "=") { encoded.removeLast() }
            // The first characters mix in the preceding bytes, the last one
            // (of an incomplete group) the following bytes.
            let head = [0, 2, 3][offset]
            let tail = length % 3 == 0 ? 0 : 1
            guard encoded.count - head - tail >= 4 else { continue }
            let fragment = String(decoding: encoded[head..<(encoded.count - tail)], as: UTF8.self)
            fragments.append(fragment)
            let urlSafe = fragment.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            if urlSafe != fragment { fragments.append(urlSafe) }
        }
        return fragments
    }
}
