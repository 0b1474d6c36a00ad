/// Splits an expression into tokens, remembering each token's offset.
struct ExpressionLexer {
    enum Token: Hashable {
        case name(String)
        case number(JSONValue)
        case string(String)
        case symbol(String)
        case end
    }

    struct Lexeme {
        var token: Token
        var offset: Int
    }

    struct Failure: Error {
        var message: String
        var offset: Int
    }

    static let symbols = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", "[", "]", ".", ","]

    static func tokenize(_ source: String) throws(Failure) -> [Lexeme] {
        let chars = Array(source)
        var index = 0
        var lexemes: [Lexeme] = []
        while index < chars.count {
            let char = chars[index]
            if char.isWhitespace {
                index += 1
                continue
            }
            let start = index
            let afterDot = lexemes.last?.token == .symbol(".")
            if afterDot, isNameCharacter(char) {
                // Property names after a dot may start with a digit: step ids are [a-z0-9_-]+.
                while index < chars.count, isNameCharacter(chars[index]) { index += 1 }
                lexemes.append(Lexeme(token: .name(String(chars[start..<index])), offset: start))
            } else if char.isLetter || char == "_" {
                while index < chars.count, isNameCharacter(chars[index]) { index += 1 }
                lexemes.append(Lexeme(token: .name(String(chars[start..<index])), offset: start))
            } else if char.isASCIIDigit || (char == "-" && index + 1 < chars.count && chars[index + 1].isASCIIDigit) {
                index += 1
                while index < chars.count, chars[index].isASCIIDigit || chars[index] == "." || chars[index] == "e"
                    || chars[index] == "E" || ((chars[index] == "+" || chars[index] == "-") && "eE".contains(chars[index - 1])) {
                    index += 1
                }
                let text = String(chars[start..<index])
                if let integer = Int64(text) {
                    lexemes.append(Lexeme(token: .number(.integer(integer)), offset: start))
                } else if let number = Double(text), number.isFinite {
                    lexemes.append(Lexeme(token: .number(.number(number)), offset: start))
                } else {
                    throw Failure(message: "'\(text)' is not a number", offset: start)
                }
            } else if char == "'" {
                var text = ""
                index += 1
                while true {
                    guard index < chars.count else {
                        throw Failure(message: "unterminated string; close it with '", offset: start)
                    }
                    if chars[index] == "'" {
                        if index + 1 < chars.count, chars[index + 1] == "'" {
                            text.append("'")
                            index += 2
                            continue
                        }
                        index += 1
                        break
                    }
                    text.append(chars[index])
                    index += 1
                }
                lexemes.append(Lexeme(token: .string(text), offset: start))
            } else if let symbol = symbols.first(where: { matches($0, chars, at: index) }) {
                index += symbol.count
                lexemes.append(Lexeme(token: .symbol(symbol), offset: start))
            } else if char == "\"" {
                throw Failure(message: "strings in expressions use single quotes: 'text'", offset: start)
            } else if char == "=" {
                throw Failure(message: "'=' is not an operator; compare with '=='", offset: start)
            } else {
                throw Failure(message: "unexpected character '\(char)'", offset: start)
            }
        }
        lexemes.append(Lexeme(token: .end, offset: chars.count))
        return lexemes
    }

    private static func isNameCharacter(_ char: Character) -> Bool {
        char.isLetter || char.isASCIIDigit || char == "_" || char == "-"
    }

    private static func matches(_ symbol: String, _ chars: [Character], at index: Int) -> Bool {
        let symbolChars = Array(symbol)
        guard index + symbolChars.count <= chars.count else { return false }
        return Array(chars[index..<index + symbolChars.count]) == symbolChars
    }
}
