/// Recursive-descent parser for the expression language.
///
/// Precedence, loosest first: `||`, `&&`, `== !=`, `< <= > >=`, `!`,
/// then member access, indexing and calls.
public struct ExpressionParser {
    /// A syntax error with its offset in the expression text.
    public struct Failure: Error, Sendable, Hashable {
        public var message: String
        public var offset: Int
    }

    /// The longest expression accepted; longer ones are almost certainly data
    /// that belongs in a file, and this bounds parser recursion.
    public static let maxLength = 4096
    static let maxNesting = 32

    private var lexemes: [ExpressionLexer.Lexeme]
    private var position = 0
    private var nesting = 0

    public static func parse(_ source: String) throws(Failure) -> ExpressionNode {
        guard source.count <= maxLength else {
            throw Failure(message: "expression is longer than \(maxLength) characters", offset: 0)
        }
        let lexemes: [ExpressionLexer.Lexeme]
        do {
            lexemes = try ExpressionLexer.tokenize(source)
        } catch {
            throw Failure(message: error.message, offset: error.offset)
        }
        var parser = ExpressionParser(lexemes: lexemes)
        if parser.current.token == .end {
            throw Failure(message: "empty expression", offset: 0)
        }
        let node = try parser.parseOr()
        guard parser.current.token == .end else {
            throw Failure(message: "unexpected \(parser.describe(parser.current.token)) after the expression", offset: parser.current.offset)
        }
        return node
    }

    private init(lexemes: [ExpressionLexer.Lexeme]) {
        self.lexemes = lexemes
    }

    private var current: ExpressionLexer.Lexeme { lexemes[position] }

    private mutating func advance() -> ExpressionLexer.Lexeme {
        let lexeme = lexemes[position]
        if position < lexemes.count - 1 { position += 1 }
        return lexeme
    }

    private mutating func accept(_ symbol: String) -> Int? {
        guard current.token == .symbol(symbol) else { return nil }
        return advance().offset
    }

    private mutating func expect(_ symbol: String, closing opener: String) throws(Failure) {
        guard accept(symbol) != nil else {
            throw Failure(message: "expected '\(symbol)' to close '\(opener)', found \(describe(current.token))", offset: current.offset)
        }
    }

    private mutating func parseBinary(
        _ operators: [ExpressionNode.BinaryOperator],
        next: (inout ExpressionParser) throws(Failure) -> ExpressionNode
    ) throws(Failure) -> ExpressionNode {
        var lhs = try next(&self)
        while let op = operators.first(where: { current.token == .symbol($0.rawValue) }) {
            _ = advance()
            let rhs = try next(&self)
            lhs = ExpressionNode(.binary(op, lhs, rhs), at: lhs.offset)
        }
        return lhs
    }

    private mutating func parseOr() throws(Failure) -> ExpressionNode {
        try parseBinary([.or]) { (parser: inout ExpressionParser) throws(Failure) in try parser.parseAnd() }
    }

    private mutating func parseAnd() throws(Failure) -> ExpressionNode {
        try parseBinary([.and]) { (parser: inout ExpressionParser) throws(Failure) in try parser.parseEquality() }
    }

    private mutating func parseEquality() throws(Failure) -> ExpressionNode {
        try parseBinary([.equal, .notEqual]) { (parser: inout ExpressionParser) throws(Failure) in try parser.parseComparison() }
    }

    private mutating func parseComparison() throws(Failure) -> ExpressionNode {
        try parseBinary([.lessOrEqual, .greaterOrEqual, .less, .greater]) { (parser: inout ExpressionParser) throws(Failure) in
            try parser.parseUnary()
        }
    }

    private mutating func parseUnary() throws(Failure) -> ExpressionNode {
        if let offset = accept("!") {
            return try nested { (parser: inout ExpressionParser) throws(Failure) in
                ExpressionNode(.not(try parser.parseUnary()), at: offset)
            }
        }
        return try parsePostfix()
    }

    private mutating func nested(_ body: (inout ExpressionParser) throws(Failure) -> ExpressionNode) throws(Failure) -> ExpressionNode {
        nesting += 1
        defer { nesting -= 1 }
        guard nesting <= Self.maxNesting else {
            throw Failure(message: "expression is nested deeper than \(Self.maxNesting) levels", offset: current.offset)
        }
        return try body(&self)
    }

    private mutating func parsePostfix() throws(Failure) -> ExpressionNode {
        var node = try parsePrimary()
        while true {
            if let offset = accept(".") {
                guard case .name(let name) = current.token else {
                    throw Failure(message: "expected a property name after '.', found \(describe(current.token))", offset: current.offset)
                }
                _ = advance()
                node = ExpressionNode(.member(node, name), at: offset + 1)
            } else if let offset = accept("[") {
                let key = try nested { (parser: inout ExpressionParser) throws(Failure) in try parser.parseOr() }
                try expect("]", closing: "[")
                node = ExpressionNode(.index(node, key), at: offset)
            } else {
                return node
            }
        }
    }

    private mutating func parsePrimary() throws(Failure) -> ExpressionNode {
        let lexeme = advance()
        switch lexeme.token {
        case .number(let value):
            return ExpressionNode(.literal(value), at: lexeme.offset)
        case .string(let text):
            return ExpressionNode(.literal(.string(text)), at: lexeme.offset)
        case .name("true"):
            return ExpressionNode(.literal(.bool(true)), at: lexeme.offset)
        case .name("false"):
            return ExpressionNode(.literal(.bool(false)), at: lexeme.offset)
        case .name("null"):
            return ExpressionNode(.literal(.null), at: lexeme.offset)
        case .name(let name):
            guard accept("(") != nil else {
                return ExpressionNode(.context(name), at: lexeme.offset)
            }
            var arguments: [ExpressionNode] = []
            if accept(")") == nil {
                repeat {
                    arguments.append(try nested { (parser: inout ExpressionParser) throws(Failure) in try parser.parseOr() })
                } while accept(",") != nil
                try expect(")", closing: "(")
            }
            return ExpressionNode(.call(name, arguments), at: lexeme.offset)
        case .symbol("("):
            let inner = try nested { (parser: inout ExpressionParser) throws(Failure) in try parser.parseOr() }
            try expect(")", closing: "(")
            return inner
        default:
            throw Failure(message: "expected a value, found \(describe(lexeme.token))", offset: lexeme.offset)
        }
    }

    private func describe(_ token: ExpressionLexer.Token) -> String {
        switch token {
        case .name(let name): "'\(name)'"
        case .number(let value): "'\(value.interpolated)'"
        case .string(let text): "'\(text)'"
        case .symbol(let symbol): "'\(symbol)'"
        case .end: "the end of the expression"
        }
    }
}
