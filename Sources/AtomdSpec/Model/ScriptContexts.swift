/// Where a `${{ }}` sits in a POSIX shell script, which decides how its value
/// can be handed over as data (DESIGN.md section 2): the value goes into an
/// environment variable, and the script gets a reference to it written for
/// the quoting context around the expression.
public enum ScriptContext: Sendable, Hashable {
    /// An unquoted word: `echo ${{ x }}` (the reference is double-quoted, so
    /// the value stays one word, unsplit and unglobbed).
    case bare
    /// Inside `"…"` or `${…}` within them: the reference is inserted as is.
    case doubleQuoted
    /// Inside `'…'`: the quotes are closed around a double-quoted reference.
    case singleQuoted
    /// Inside bash's `$'…'`.
    case ansiQuoted
    /// In the body of a heredoc whose delimiter is unquoted, read by `cat` or
    /// `tee` (which write it somewhere): the shell expands the reference and
    /// does not evaluate what it expands to.
    case heredoc
    /// In the body of a heredoc read by another command (`python3 <<EOF`):
    /// the value would become part of that program's text.
    case heredocToCommand(String)
    /// In a comment: nothing runs, the reference is inert.
    case comment
    /// In a heredoc whose delimiter is quoted (`<<'EOF'`): nothing is expanded
    /// there, so no reference can work.
    case quotedHeredoc
    /// Inside backquotes, whose text the shell parses twice.
    case backquoted
    /// Inside `$(( … ))` or `(( … ))`: bash evaluates the text of a value there as an
    /// arithmetic expression, and `a[$(cmd)]` in it runs a command.
    case arithmetic

    /// Why a value cannot be handed over here, and the safe form; nil where
    /// it can.
    public var refusal: (message: String, hint: String)? {
        switch self {
        case .bare, .doubleQuoted, .singleQuoted, .ansiQuoted, .heredoc, .comment: nil
        case .heredocToCommand(let command):
            ("'${{' in a heredoc read by \(command) would become part of the text \(command) interprets",
             "pass the value through env: and read it from the environment in \(command) (or write the text with cat > FILE)")
        case .quotedHeredoc:
            ("'${{' in a heredoc with a quoted delimiter is never expanded, so its value would become the text of whatever reads the heredoc",
             "unquote the delimiter (<<EOF), or pass the value through env: and read it from the environment")
        case .backquoted:
            ("'${{' inside backquotes is parsed twice by the shell",
             "write $( … ) instead of backquotes")
        case .arithmetic:
            ("'${{' in $(( )) or (( )) would be evaluated as arithmetic, where a value such as a[$(cmd)] runs a command",
             "pass the value through env:, check that it is a number, then use it")
        }
    }

    /// The script text that reads environment variable `name` here.
    public func reference(to name: String) -> String {
        switch self {
        case .bare: "\"${\(name)}\""
        case .doubleQuoted, .heredoc, .comment: "${\(name)}"
        case .singleQuoted: "'\"${\(name)}\"'"
        case .ansiQuoted: "'\"${\(name)}\"$'"
        case .heredocToCommand, .quotedHeredoc, .backquoted, .arithmetic: "${\(name)}"
        }
    }
}

/// Finds the quoting context of each expression in a shell script: enough of
/// the POSIX shell grammar (and bash's `$'…'`) to know quotes, comments,
/// command substitutions, parameter expansions, arithmetic and heredocs.
public struct ScriptScanner {
    /// The script as bytes, an expression as a negative marker: `-1 - index`.
    private var units: [Int]
    private var position = 0
    private var contexts: [ScriptContext]
    /// Heredocs whose bodies start after the current line: delimiter, quoted,
    /// leading tabs stripped (`<<-`).
    private var pendingHeredocs: [(delimiter: [Int], quoted: Bool, stripTabs: Bool, reader: String)] = []

    /// One context per expression of `template`, in order.
    public static func contexts(of template: Template) -> [ScriptContext] {
        var scanner = ScriptScanner(template)
        scanner.scanCommands(closer: nil)
        return scanner.contexts
    }

    private init(_ template: Template) {
        units = []
        var count = 0
        for part in template.parts {
            switch part {
            case .literal(let text): units.append(contentsOf: text.utf8.map(Int.init))
            case .expression:
                units.append(-1 - count)
                count += 1
            }
        }
        contexts = Array(repeating: .bare, count: count)
    }

    private static func byte(_ character: Unicode.Scalar) -> Int { Int(character.value) }
    private static let newline = byte("\n"), backslash = byte("\\"), dollar = byte("$")
    private static let singleQuote = byte("'"), doubleQuote = byte("\""), backquote = byte("`")
    private static let openParen = byte("("), closeParen = byte(")"), openBrace = byte("{"), closeBrace = byte("}")
    private static let hash = byte("#"), less = byte("<"), dash = byte("-"), tab = byte("\t")
    /// After these a `#` starts a comment.
    private static let wordBreaks: Set<Int> = Set(" \t\n;&|()<>".unicodeScalars.map(byte))

    private func peek(_ offset: Int = 0) -> Int? {
        position + offset < units.count ? units[position + offset] : nil
    }

    private func next(is text: String) -> Bool {
        for (offset, scalar) in text.unicodeScalars.enumerated() where peek(offset) != Self.byte(scalar) {
            return false
        }
        return true
    }

    /// Records the context of an expression marker at the current position.
    private mutating func mark(_ context: ScriptContext) {
        if let unit = peek(), unit < 0 { contexts[-1 - unit] = context }
        position += 1
    }

    /// Commands up to `closer` (`)` of a `$(…)` or subshell) or the end.
    private mutating func scanCommands(closer: Int?) {
        var depth = 0
        while let unit = peek() {
            if unit < 0 {
                mark(.bare)
            } else if unit == Self.newline {
                position += 1
                scanHeredocBodies()
            } else if unit == Self.backslash {
                position += 2
            } else if unit == Self.singleQuote {
                position += 1
                scanSingleQuoted(context: .singleQuoted)
            } else if unit == Self.doubleQuote {
                position += 1
                scanDoubleQuoted(closer: Self.doubleQuote, context: .doubleQuoted)
            } else if unit == Self.backquote {
                position += 1
                scanBackquoted()
            } else if unit == Self.dollar {
                scanDollar(quotedContext: .bare)
            } else if unit == Self.hash, position == 0 || Self.wordBreaks.contains(units[position - 1]) {
                scanComment()
            } else if next(is: "(("), position == 0 || Self.wordBreaks.contains(units[position - 1]) {
                position += 2
                scanArithmetic()
            } else if next(is: "<<<") {
                position += 3
            } else if next(is: "<<") {
                position += 2
                scanHeredocOperator()
            } else if unit == Self.openParen {
                depth += 1
                position += 1
            } else if unit == Self.closeParen {
                position += 1
                if depth == 0, closer == Self.closeParen { return }
                depth = max(0, depth - 1)
            } else {
                position += 1
            }
        }
    }

    /// `$'…'`, `$((…))`, `$(…)`, `${…}` or a plain `$`.
    private mutating func scanDollar(quotedContext: ScriptContext) {
        if next(is: "$'"), quotedContext == .bare {
            position += 2
            scanSingleQuoted(context: .ansiQuoted)
        } else if next(is: "$((") {
            position += 3
            scanArithmetic()
        } else if next(is: "$(") {
            position += 2
            scanCommands(closer: Self.closeParen)
        } else if next(is: "${") {
            position += 2
            scanDoubleQuoted(closer: Self.closeBrace, context: quotedContext == .bare ? .bare : quotedContext)
        } else {
            position += 1
        }
    }

    private mutating func scanSingleQuoted(context: ScriptContext) {
        while let unit = peek() {
            if unit < 0 {
                mark(context)
            } else if unit == Self.backslash, context == .ansiQuoted {
                position += 2
            } else {
                position += 1
                if unit == Self.singleQuote { return }
            }
        }
    }

    /// The inside of `"…"` or of a `${…}`, up to `closer`.
    private mutating func scanDoubleQuoted(closer: Int, context: ScriptContext) {
        while let unit = peek() {
            if unit < 0 {
                mark(context)
            } else if unit == Self.backslash {
                position += 2
            } else if unit == Self.dollar {
                scanDollar(quotedContext: context == .bare ? .doubleQuoted : context)
            } else if unit == Self.backquote {
                position += 1
                scanBackquoted()
            } else if unit == Self.doubleQuote, closer == Self.closeBrace {
                position += 1
                scanDoubleQuoted(closer: Self.doubleQuote, context: .doubleQuoted)
            } else if unit == Self.singleQuote, closer == Self.closeBrace, context == .bare {
                position += 1
                scanSingleQuoted(context: .singleQuoted)
            } else {
                position += 1
                if unit == closer { return }
            }
        }
    }

    private mutating func scanBackquoted() {
        while let unit = peek() {
            if unit < 0 {
                mark(.backquoted)
            } else if unit == Self.backslash {
                position += 2
            } else {
                position += 1
                if unit == Self.backquote { return }
            }
        }
    }

    private mutating func scanArithmetic() {
        var depth = 0
        while let unit = peek() {
            if unit < 0 {
                mark(.arithmetic)
            } else if unit == Self.openParen {
                depth += 1
                position += 1
            } else if unit == Self.closeParen {
                position += 1
                if depth == 0 {
                    if peek() == Self.closeParen { position += 1 }
                    return
                }
                depth -= 1
            } else {
                position += 1
            }
        }
    }

    private mutating func scanComment() {
        while let unit = peek(), unit != Self.newline {
            if unit < 0 { mark(.comment) } else { position += 1 }
        }
    }

    /// The word after `<<` or `<<-`: the delimiter, quoted if any part of it is.
    private mutating func scanHeredocOperator() {
        let reader = commandName(before: position - 2)
        let stripTabs = peek() == Self.dash
        if stripTabs { position += 1 }
        while peek() == Self.byte(" ") || peek() == Self.tab { position += 1 }
        var delimiter: [Int] = []
        var quoted = false
        while let unit = peek(), !Self.wordBreaks.contains(unit) {
            if unit == Self.singleQuote || unit == Self.doubleQuote {
                quoted = true
                position += 1
                while let inner = peek(), inner != unit {
                    delimiter.append(inner)
                    position += 1
                }
                position += 1
            } else if unit == Self.backslash {
                quoted = true
                position += 1
            } else {
                if unit < 0 { mark(.bare) } else { position += 1 }
                delimiter.append(unit)
            }
        }
        pendingHeredocs.append((delimiter, quoted, stripTabs, reader))
    }

    /// The command word of the simple command that `end` is in: its first
    /// word that is not an assignment, without its directory.
    private func commandName(before end: Int) -> String {
        var start = end
        while start > 0, units[start - 1] >= 0, !Self.commandBreaks.contains(units[start - 1]) { start -= 1 }
        let text = String(decoding: units[start..<end].map { UInt8(clamping: $0) }, as: UTF8.self)
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        let command = words.first { !$0.contains("=") } ?? ""
        return String(command.split(separator: "/").last ?? command)
    }

    /// Characters that end one simple command and start the next.
    private static let commandBreaks: Set<Int> = Set("\n;&|(".unicodeScalars.map(byte))

    /// The bodies of the heredocs opened on the line that just ended.
    private mutating func scanHeredocBodies() {
        let heredocs = pendingHeredocs
        pendingHeredocs = []
        for heredoc in heredocs {
            while position < units.count {
                if heredoc.stripTabs { while peek() == Self.tab { position += 1 } }
                let start = position
                var end = start
                while end < units.count, units[end] != Self.newline { end += 1 }
                if Array(units[start..<end]) == heredoc.delimiter {
                    position = min(units.count, end + 1)
                    break
                }
                let place: ScriptContext = heredoc.quoted ? .quotedHeredoc
                    : ["cat", "tee"].contains(heredoc.reader) ? .heredoc : .heredocToCommand(heredoc.reader)
                scanHeredocLine(upTo: end, place: place)
            }
        }
    }

    private mutating func scanHeredocLine(upTo end: Int, place: ScriptContext) {
        while position < end, let unit = peek() {
            if unit < 0 {
                mark(place)
            } else if place != .heredoc {
                // Nothing expands in a quoted heredoc; in one another command
                // reads, even the output of a `$(…)` becomes its text.
                position += 1
            } else if unit == Self.backslash {
                position += 2
            } else if unit == Self.dollar {
                scanDollar(quotedContext: place)
            } else if unit == Self.backquote {
                position += 1
                scanBackquoted()
            } else {
                position += 1
            }
        }
        position = max(position, min(units.count, end + 1))
    }
}
