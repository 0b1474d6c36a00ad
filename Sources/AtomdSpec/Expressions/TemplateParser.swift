/// Splits a string into literal text and `${{ ... }}` expressions.
enum TemplateParser {
    enum Piece {
        case literal(String)
        /// `occurrence` counts the `${{` openers before it in the string;
        /// `innerOffset` is where the trimmed expression starts after `${{`.
        case expression(occurrence: Int, innerOffset: Int, source: String, root: ExpressionNode)
    }

    struct Failure: Error {
        var occurrence: Int
        /// From the `${{` opener.
        var offset: Int
        var message: String
        var hint: String?
    }

    static func parse(_ text: String) -> Result<[Piece], Failure> {
        let chars = Array(text)
        var pieces: [Piece] = []
        var literal = ""
        var index = 0
        var occurrence = 0
        while index < chars.count {
            guard isOpener(chars, at: index) else {
                literal.append(chars[index])
                index += 1
                continue
            }
            guard let close = closingIndex(chars, from: index + 3) else {
                return .failure(Failure(occurrence: occurrence, offset: 0, message: "unterminated '${{'", hint: "close the expression with '}}'"))
            }
            let inner = String(chars[(index + 3)..<close])
            let leading = inner.prefix(while: \.isWhitespace).count
            let source = inner.trimmingWhitespace
            do {
                let root = try ExpressionParser.parse(source)
                if !literal.isEmpty { pieces.append(.literal(literal)) }
                literal = ""
                pieces.append(.expression(occurrence: occurrence, innerOffset: 3 + leading, source: source, root: root))
            } catch {
                return .failure(Failure(occurrence: occurrence, offset: 3 + leading + error.offset, message: error.message))
            }
            occurrence += 1
            index = close + 2
        }
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        return .success(pieces)
    }

    private static func isOpener(_ chars: [Character], at index: Int) -> Bool {
        index + 2 < chars.count && chars[index] == "$" && chars[index + 1] == "{" && chars[index + 2] == "{"
    }

    /// The index of the `}}` that ends the expression, skipping quoted strings.
    private static func closingIndex(_ chars: [Character], from start: Int) -> Int? {
        var inString = false
        var index = start
        while index < chars.count {
            if chars[index] == "'" {
                inString.toggle()
            } else if !inString, chars[index] == "}", index + 1 < chars.count, chars[index + 1] == "}" {
                return index
            }
            index += 1
        }
        return nil
    }
}
