import AtomdEngine
import AtomdSpec

/// Renders an `http:` URL template so that a value stays inside the URL
/// component it lands in, as RFC 6570's simple expansion does: in the path, the
/// query or the fragment it is percent-encoded (all but `A-Z a-z 0-9 - . _ ~`),
/// so an id like `../volumes/x?force=true` stays one path segment. A value
/// that starts the URL is its base (`${{ vars.api }}/servers`) and goes in as
/// written; one in the host part may not contain a delimiter or a port. `url_raw(x)`
/// inserts a value as written anywhere.
enum URLTemplate {
    private enum Component { case base, authority, path, queryOrFragment }

    static func render(_ template: Template, values: ActionValues) throws(EvaluationError) -> String {
        var url = ""
        for part in template.parts {
            switch part {
            case .literal(let text):
                url += text
            case .expression(let expression):
                let value = try values.evaluator.evaluate(expression).interpolated
                if case .call("url_raw", _) = expression.root.kind {
                    url += value
                    continue
                }
                switch component(after: url) {
                case .base:
                    url += value
                case .authority:
                    if let bad = value.unicodeScalars.first(where: { "/?#@\\: ".unicodeScalars.contains($0) || $0.value < 0x21 }) {
                        throw EvaluationError(message: "the value of ${{ \(expression.source) }} in the url's host part contains '\(bad.escaped(asASCII: true))', which would change where the request goes; use url_raw() if that is meant")
                    }
                    url += value
                case .path:
                    // Servers that decode before they resolve would take
                    // %2E%2E for `..` too: such a value is refused.
                    guard value != ".", value != ".." else {
                        throw EvaluationError(message: "the value of ${{ \(expression.source) }} is '\(value)', which in a url's path would be a dot segment (the parent of the path it is in)")
                    }
                    url += encoded(value)
                case .queryOrFragment:
                    url += encoded(value)
                }
            }
        }
        return url
    }

    /// Where text appended to `prefix` lands.
    private static func component(after prefix: String) -> Component {
        if prefix.contains("?") || prefix.contains("#") { return .queryOrFragment }
        guard let scheme = prefix.range(of: "://") else { return prefix.isEmpty ? .base : .authority }
        return prefix[scheme.upperBound...].contains("/") ? .path : .authority
    }

    private static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)

    static func encoded(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            if unreserved.contains(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
