/// Reads a bash script into simple commands and words, far enough to know
/// where each `${{ }}` sits: its quoting, the command and argument it is part
/// of, and the places where bash evaluates text whatever the command
/// (arithmetic, backquotes, `${!…}`, subscripts, quoted heredocs), which are
/// refused here. `ScriptClassifier` decides about the rest.
struct ScriptScanner {
    /// The script as bytes, an expression as a negative marker: `-1 - index`.
    private var units: [Int]
    private var position = 0
    private var nextPipeline = 0
    /// Heredocs whose bodies start after the current line; `command` is the
    /// index of the command that reads them, once it is complete.
    private var pendingHeredocs: [(delimiter: [Int], quoted: Bool, stripTabs: Bool, command: Int?)] = []
    /// Every occurrence in the order met, to find those nested in a word.
    private var log: [ScriptOccurrence] = []
    /// How deep expansions and substitutions nest here; past `maximumDepth`
    /// the scanner stops (its recursion would exhaust the stack) and every
    /// value of the script is refused.
    private var depth = 0
    private static let maximumDepth = 100
    private(set) var tooDeep = false
    /// Something makes the script's parse uncertain (a heredoc line that
    /// starts with its delimiter): every value is refused.
    private(set) var ambiguous = false
    /// Assignments bash makes inside an expansion (`${y:=value}`).
    private(set) var implicitAssignments: [(name: String, values: [ScriptOccurrence])] = []
    /// Variables the script uses as arrays anywhere.
    private(set) var arrays: Set<String> = []
    /// Every variable the script reads, and whether it reads one indirectly
    /// (`${!name}`), which no name-by-name account can follow.
    private(set) var variablesRead: Set<String> = []
    private(set) var readsIndirectly = false

    private(set) var quoting: [ScriptPlace.Quoting]
    private(set) var commands: [ScriptCommandLine] = []
    /// Functions the script defines: what they are given reaches `$1`, `$@`.
    private(set) var functions: Set<String> = []
    /// Occurrences refused whatever command they are part of.
    private(set) var refused: [(ScriptOccurrence, ScriptRefusal)] = []

    init(_ template: Template) {
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
        quoting = Array(repeating: .bare, count: count)
        _ = scanCommands(.end)
    }

    private enum Closer { case end, parenthesis, caseItem }
    private enum Ending { case end, parenthesis, caseItem, esac }

    private static func byte(_ character: Unicode.Scalar) -> Int { Int(character.value) }
    private static let newline = byte("\n"), backslash = byte("\\"), dollar = byte("$"), space = byte(" "), tab = byte("\t")
    private static let singleQuote = byte("'"), doubleQuote = byte("\""), backquote = byte("`"), equals = byte("=")
    private static let openParen = byte("("), closeParen = byte(")"), openBrace = byte("{"), closeBrace = byte("}")
    private static let openBracket = byte("["), closeBracket = byte("]"), hash = byte("#"), less = byte("<"), greater = byte(">")
    private static let semicolon = byte(";"), ampersand = byte("&"), bar = byte("|"), dash = byte("-")
    /// Characters that end an unquoted word.
    private static let metacharacters: Set<Int> = Set(" \t\n;&|()<>".unicodeScalars.map(byte))

    private func peek(_ offset: Int = 0) -> Int? {
        position + offset < units.count ? units[position + offset] : nil
    }

    private func next(is text: String) -> Bool {
        for (offset, scalar) in text.unicodeScalars.enumerated() where peek(offset) != Self.byte(scalar) {
            return false
        }
        return true
    }

    /// Whether the next word is exactly `word`.
    private func nextWord(is word: String) -> Bool {
        guard next(is: word) else { return false }
        guard let after = peek(word.utf8.count) else { return true }
        return Self.metacharacters.contains(after)
    }

    /// Blanks and line continuations (a `\\` before a newline joins lines).
    private mutating func skipBlanks() {
        while true {
            if peek() == Self.space || peek() == Self.tab {
                position += 1
            } else if peek() == Self.backslash, peek(1) == Self.newline {
                position += 2
            } else {
                return
            }
        }
    }

    // MARK: Commands

    /// Commands up to `closer` or the end of the script.
    private mutating func scanCommands(_ closer: Closer) -> Ending {
        guard enter() else { return .end }
        defer { depth -= 1 }
        var pipeline = newPipeline()
        var command = ScriptCommandLine()
        var conditional = false
        func finish(_ scanner: inout ScriptScanner, piped: Bool) {
            scanner.finish(&command, pipeline: pipeline)
            conditional = false
            if !piped { pipeline = scanner.newPipeline() }
        }
        while true {
            skipBlanks()
            guard let unit = peek() else {
                finish(&self, piped: false)
                return .end
            }
            if conditional, let word = conditionalOperator() {
                command.words.append(word)
                continue
            }
            switch unit {
            case Self.newline:
                finish(&self, piped: false)
                position += 1
                scanHeredocBodies()
            case Self.hash:
                scanComment()
            case Self.semicolon:
                finish(&self, piped: false)
                if closer == .caseItem, next(is: ";;") || next(is: ";&") {
                    position += next(is: ";;&") ? 3 : 2
                    return .caseItem
                }
                position += 1
            case Self.ampersand where next(is: "&>"):
                scanRedirection(into: &command)
            case Self.ampersand:
                finish(&self, piped: false)
                position += next(is: "&&") ? 2 : 1
            case Self.bar:
                let pipe = !next(is: "||")
                finish(&self, piped: pipe)
                position += next(is: "||") || next(is: "|&") ? 2 : 1
            case Self.closeParen:
                finish(&self, piped: false)
                position += 1
                if closer == .parenthesis { return .parenthesis }
            case Self.openParen:
                scanParenthesis(in: &command)
            case Self.less, Self.greater:
                if peek(1) == Self.openParen {
                    command.words.append(scanWord())
                } else {
                    scanRedirection(into: &command)
                }
            default:
                if closer == .caseItem, command.words.count == command.start, nextWord(is: "esac") {
                    position += 4
                    finish(&self, piped: false)
                    return .esac
                }
                let word = scanWord()
                if word.isLiteral, word.bytes.allSatisfy(ScriptWord.isDigit), peek() == Self.less || peek() == Self.greater {
                    continue // a file descriptor number: 2>file
                }
                command.words.append(word)
                if command.words.count == command.start + 1, word.literalText == "[[" { conditional = true }
                if conditional, word.literalText == "]]" { conditional = false }
                if command.words.count == command.start + 3, command.words[command.start].literalText == "case",
                   word.literalText == "in" {
                    finish(&self, piped: false)
                    scanCaseItems()
                }
            }
        }
    }

    /// One level deeper, or the end of scanning when that is too deep.
    private mutating func enter() -> Bool {
        depth += 1
        guard depth <= Self.maximumDepth else {
            tooDeep = true
            position = units.count
            return false
        }
        return true
    }

    private mutating func newPipeline() -> Int {
        nextPipeline += 1
        return nextPipeline
    }

    private mutating func finish(_ command: inout ScriptCommandLine, pipeline: Int) {
        let waiting = pendingHeredocs.indices.filter { pendingHeredocs[$0].command == nil }
        if !command.isEmpty || !waiting.isEmpty {
            command.pipeline = pipeline
            for index in waiting { pendingHeredocs[index].command = commands.count }
            commands.append(command)
        }
        command = ScriptCommandLine()
    }

    /// `[[ … ]]` takes `&&`, `||`, `<`, `>`, `(` and `)` as its own words.
    private mutating func conditionalOperator() -> ScriptWord? {
        for text in ["&&", "||", "<", ">", "(", ")"] where next(is: text) {
            position += text.utf8.count
            var word = ScriptWord()
            word.bytes = Array(text.utf8)
            return word
        }
        return nil
    }

    /// `((` arithmetic, a subshell, a function's `()`, or an array's `=(…)`.
    private mutating func scanParenthesis(in command: inout ScriptCommandLine) {
        if next(is: "(("), command.words.count == command.start
            || command.words.count == command.start + 1 && command.words[command.start].literalText == "for" {
            position += 2
            scanArithmetic(closer: Self.closeParen, doubled: true)
        } else if let last = command.words.indices.last, command.words[last].equals.map({ $0 + 1 }) == command.words[last].bytes.count,
                  position > 0, units[position - 1] == Self.equals {
            position += 1
            if let name = command.words[last].assignedName { arrays.insert(name) }
            scanArrayElements(into: &command.words[last])
        } else if command.words.count > command.start {
            // name () { …; }: a function's body is commands of its own.
            if let name = command.words.last?.literalText { functions.insert(name) }
            position += 1
            skipBlanks()
            if peek() == Self.closeParen { position += 1 }
            let pipeline = command.pipeline
            finish(&command, pipeline: pipeline)
        } else {
            // A subshell's commands are its own; what it reads from a pipe
            // is not known to be data, so it stands in its pipeline as an
            // unknown command.
            var subshell = ScriptWord()
            subshell.bytes = Array("( … )".utf8)
            command.words.append(subshell)
            position += 1
            _ = scanCommands(.parenthesis)
        }
    }

    /// `case WORD in` has been read: patterns and their commands to `esac`.
    private mutating func scanCaseItems() {
        while true {
            while let unit = peek(), unit == Self.space || unit == Self.tab || unit == Self.newline {
                position += 1
                if unit == Self.newline { scanHeredocBodies() }
            }
            if peek() == Self.hash { scanComment(); continue }
            guard peek() != nil else { return }
            if nextWord(is: "esac") {
                position += 4
                return
            }
            if peek() == Self.openParen { position += 1 }
            // Patterns are matched, never run: a value there is data.
            while let unit = peek(), unit != Self.closeParen {
                if unit == Self.bar || unit == Self.space || unit == Self.tab || unit == Self.newline {
                    position += 1
                } else {
                    let before = position
                    _ = scanWord()
                    if position == before { position += 1 }
                }
            }
            position += 1
            switch scanCommands(.caseItem) {
            case .esac, .end: return
            case .caseItem, .parenthesis: continue
            }
        }
    }

    private mutating func scanComment() {
        while let unit = peek(), unit != Self.newline {
            if unit < 0 { quoting[-1 - unit] = .inert }
            position += 1
        }
    }

    // MARK: Redirections and heredocs

    private mutating func scanRedirection(into command: inout ScriptCommandLine) {
        if next(is: "<<<") {
            position += 3
            skipBlanks()
            let word = scanWord()
            command.input += word.everything
            return
        }
        if next(is: "<<") {
            position += 2
            scanHeredocOperator()
            return
        }
        var reads = false
        for operator_ in ["&>>", "&>", ">>", ">&", ">|", "<&", "<>", ">", "<"] where next(is: operator_) {
            position += operator_.utf8.count
            reads = operator_.hasPrefix("<")
            break
        }
        skipBlanks()
        let target = scanWord()
        // `< <(cmd)` feeds cmd's output to the command; `> >(cmd)` feeds
        // the command's output to cmd.
        if reads { command.input += target.nested }
        command.targets.append(target)
    }

    /// The word after `<<` or `<<-`: the delimiter, quoted if any part of it is.
    private mutating func scanHeredocOperator() {
        let stripTabs = peek() == Self.dash
        if stripTabs { position += 1 }
        skipBlanks()
        var delimiter: [Int] = []
        var quoted = false
        while let unit = peek(), !Self.metacharacters.contains(unit) {
            if unit == Self.singleQuote || unit == Self.doubleQuote {
                quoted = true
                position += 1
                while let inner = peek(), inner != unit {
                    if inner < 0 { refuse(.expression(-1 - inner), .heredocDelimiter) }
                    delimiter.append(inner)
                    position += 1
                }
                position += 1
            } else if unit == Self.backslash {
                quoted = true
                position += 1
            } else {
                if unit < 0 { refuse(.expression(-1 - unit), .heredocDelimiter) }
                delimiter.append(unit)
                position += 1
            }
        }
        pendingHeredocs.append((delimiter, quoted, stripTabs, nil))
    }

    /// The bodies of the heredocs opened on the line that just ended.
    private mutating func scanHeredocBodies() {
        let heredocs = pendingHeredocs
        pendingHeredocs = []
        for heredoc in heredocs {
            var continued = false
            while position < units.count {
                if heredoc.stripTabs { while peek() == Self.tab { position += 1 } }
                var end = position
                while end < units.count, units[end] != Self.newline { end += 1 }
                let line = Array(units[position..<end])
                // A line after one ending in a backslash (unquoted heredoc) is joined
                // to it, so it cannot be the delimiter.
                if !continued, line == heredoc.delimiter {
                    position = min(units.count, end + 1)
                    break
                }
                // bash also ends a heredoc in $( … ) at `EOF)`, and where
                // exactly it does so is not worth guessing.
                if !continued, line.starts(with: heredoc.delimiter + [Self.closeParen]) {
                    ambiguous = true
                    position += heredoc.delimiter.count
                    break
                }
                continued = !heredoc.quoted && line.reversed().prefix { $0 == Self.backslash }.count % 2 == 1
                var body = ScriptWord()
                scanHeredocLine(upTo: end, quoted: heredoc.quoted, into: &body)
                if let command = heredoc.command { commands[command].input += body.everything }
            }
        }
    }

    private mutating func scanHeredocLine(upTo end: Int, quoted: Bool, into body: inout ScriptWord) {
        while position < end, let unit = peek() {
            if unit < 0, quoted {
                refuse(.expression(-1 - unit), .quotedHeredoc)
                position += 1
            } else if quoted {
                position += 1
            } else if unit < 0 {
                record(expressionAt: .doubleQuoted, in: &body)
            } else if unit == Self.backslash {
                position += 2
            } else if unit == Self.dollar {
                scanDollar(into: &body, quoted: true)
            } else if unit == Self.backquote {
                scanBackquoted(into: &body)
            } else {
                position += 1
            }
        }
        position = max(position, min(units.count, end + 1))
    }

    // MARK: Words

    private mutating func record(_ occurrence: ScriptOccurrence, in word: inout ScriptWord) {
        word.occurrences.append((occurrence, word.equals != nil))
        log.append(occurrence)
        if case .variable(let name) = occurrence { variablesRead.insert(name) }
    }

    /// Records the expression at the current position with its quoting.
    private mutating func record(expressionAt quoting: ScriptPlace.Quoting, in word: inout ScriptWord) {
        guard let unit = peek(), unit < 0 else { return }
        self.quoting[-1 - unit] = quoting
        if word.bytes.isEmpty, word.occurrences.isEmpty { word.leadingExpression = -1 - unit }
        record(.expression(-1 - unit), in: &word)
        word.expands()
        position += 1
    }

    private mutating func refuse(_ occurrence: ScriptOccurrence, _ refusal: ScriptRefusal) {
        refused.append((occurrence, refusal))
        log.append(occurrence)
        if case .variable(let name) = occurrence { variablesRead.insert(name) }
    }

    /// Runs `body`, and returns the occurrences it met.
    private mutating func nested(_ body: (inout ScriptScanner) -> Void) -> [ScriptOccurrence] {
        let start = log.count
        body(&self)
        return Array(log[start...])
    }

    private mutating func scanWord() -> ScriptWord {
        var word = ScriptWord()
        while let unit = peek() {
            if unit < 0 {
                record(expressionAt: .bare, in: &word)
            } else if (unit == Self.less || unit == Self.greater) && peek(1) == Self.openParen {
                position += 2
                let first = commands.count
                word.nested += nested { _ = $0.scanCommands(.parenthesis) }
                if unit == Self.greater, first < commands.count { word.sinks.append(first) }
                word.expands()
            } else if Self.metacharacters.contains(unit) {
                break
            } else if unit == Self.backslash {
                if let escaped = peek(1), escaped >= 0, escaped != Self.newline { word.bytes.append(UInt8(escaped)) }
                position += 2
            } else if unit == Self.singleQuote {
                position += 1
                scanSingleQuoted(into: &word, quoting: .singleQuoted)
            } else if unit == Self.doubleQuote {
                position += 1
                scanDoubleQuoted(into: &word)
            } else if unit == Self.backquote {
                scanBackquoted(into: &word)
            } else if unit == Self.dollar {
                scanDollar(into: &word, quoted: false)
            } else {
                if unit == Self.equals, word.equals == nil, word.isAssignmentPrefix { word.equals = word.bytes.count }
                // Unquoted, these make the word a pattern or a brace expansion.
                if "{*?[".unicodeScalars.map(Self.byte).contains(unit) { word.isPattern = true }
                word.bytes.append(UInt8(unit))
                position += 1
            }
        }
        return word
    }

    private mutating func scanSingleQuoted(into word: inout ScriptWord, quoting: ScriptPlace.Quoting) {
        while let unit = peek() {
            if unit < 0 {
                record(expressionAt: quoting, in: &word)
            } else if unit == Self.backslash, quoting == .ansiQuoted {
                word.isLiteral = false
                position += 2
            } else {
                position += 1
                if unit == Self.singleQuote { return }
                word.bytes.append(UInt8(unit))
            }
        }
    }

    private mutating func scanDoubleQuoted(into word: inout ScriptWord) {
        while let unit = peek() {
            if unit < 0 {
                record(expressionAt: .doubleQuoted, in: &word)
            } else if unit == Self.backslash {
                if let escaped = peek(1), escaped >= 0 { word.bytes.append(UInt8(escaped)) }
                position += 2
            } else if unit == Self.dollar {
                scanDollar(into: &word, quoted: true)
            } else if unit == Self.backquote {
                scanBackquoted(into: &word)
            } else {
                position += 1
                if unit == Self.doubleQuote { return }
                word.bytes.append(UInt8(unit))
            }
        }
    }

    /// Backquotes' text is parsed twice: nothing in it can be data.
    private mutating func scanBackquoted(into word: inout ScriptWord) {
        position += 1
        while let unit = peek() {
            position += 1
            if unit < 0 {
                refuse(.expression(-1 - unit), .backquoted)
            } else if unit == Self.backslash {
                position += 1
            } else if unit == Self.backquote {
                break
            }
        }
        word.expands()
    }

    /// `$'…'`, `$"…"`, `$((…))`, `$[…]`, `$(…)`, `${…}`, `$name` or a plain `$`.
    private mutating func scanDollar(into word: inout ScriptWord, quoted: Bool) {
        guard enter() else { return }
        defer { depth -= 1 }
        if next(is: "$'"), !quoted {
            position += 2
            word.isLiteral = false
            scanSingleQuoted(into: &word, quoting: .ansiQuoted)
        } else if next(is: "$\""), !quoted {
            position += 2
            word.isLiteral = false
            scanDoubleQuoted(into: &word)
        } else if next(is: "$((") {
            position += 3
            word.nested += nested { $0.scanArithmetic(closer: Self.closeParen, doubled: true) }
            word.expands()
        } else if next(is: "$[") {
            position += 2
            word.nested += nested { $0.scanArithmetic(closer: Self.closeBracket, doubled: false) }
            word.expands()
        } else if next(is: "$(") {
            position += 2
            word.nested += nested { _ = $0.scanCommands(.parenthesis) }
            word.expands()
        } else if next(is: "${") {
            position += 2
            scanParameter(into: &word, quoted: quoted)
            word.expands()
        } else if let first = peek(1), first >= 0, first == Self.byte("_") || ScriptWord.isLetter(UInt8(first)) {
            position += 1
            record(.variable(readName()), in: &word)
            word.expands()
        } else if let first = peek(1), first >= 0, "@*123456789".unicodeScalars.map(Self.byte).contains(first) {
            position += 2
            record(.variable(String(UnicodeScalar(UInt8(first)))), in: &word)
            word.expands()
        } else if let first = peek(1), first >= 0, "#?-$!0".unicodeScalars.map(Self.byte).contains(first) {
            position += 2
            word.expands()
        } else {
            word.bytes.append(UInt8(ascii: "$"))
            position += 1
        }
    }

    private mutating func readName() -> String {
        var name: [UInt8] = []
        while let unit = peek(), unit >= 0, unit == Self.byte("_") || ScriptWord.isLetter(UInt8(unit)) || ScriptWord.isDigit(UInt8(unit)) {
            name.append(UInt8(unit))
            position += 1
        }
        return String(decoding: name, as: UTF8.self)
    }

    /// The inside of `${…}`. Only the forms whose operand bash expands as
    /// text are data; offsets, subscripts and indirection are evaluated.
    private mutating func scanParameter(into word: inout ScriptWord, quoted: Bool) {
        let inner: ScriptPlace.Quoting = quoted ? .doubleQuoted : .bare
        if peek() == Self.byte("!") {
            position += 1
            readsIndirectly = true
            refuseUntilBrace(.indirection)
            return
        }
        if peek() == Self.hash, peek(1) != Self.closeBrace { position += 1 }
        var name = ""
        if let unit = peek(), unit >= 0, unit == Self.byte("_") || ScriptWord.isLetter(UInt8(unit)) {
            name = readName()
        } else if let unit = peek(), unit >= 0, unit != Self.closeBrace {
            // A special parameter ($#, $?) or a positional one, which
            // carries what a function or `set --` was given.
            position += 1
            if "@*123456789".unicodeScalars.map(Self.byte).contains(unit) { name = String(UnicodeScalar(UInt8(unit))) }
        }
        if peek() == Self.openBracket {
            if !name.isEmpty { arrays.insert(name) }
            position += 1
            scanArithmetic(closer: Self.closeBracket, doubled: false)
        }
        guard let unit = peek() else { return }
        if unit == Self.closeBrace {
            position += 1
            if !name.isEmpty { record(.variable(name), in: &word) }
            return
        }
        if unit == Self.byte("@") {
            if !name.isEmpty {
                if peek(1) == Self.byte("P") { refuse(.variable(name), .indirection) } else { record(.variable(name), in: &word) }
            }
            refuseUntilBrace(.indirection)
            return
        }
        if !name.isEmpty { record(.variable(name), in: &word) }
        if unit == Self.byte(":"), let after = peek(1), !"-=+?".unicodeScalars.map(Self.byte).contains(after) {
            position += 1
            scanArithmetic(closer: Self.closeBrace, doubled: false)
            return
        }
        let operators = ":-=+?#%/^,".unicodeScalars.map(Self.byte)
        guard operators.contains(unit) else {
            refuseUntilBrace(.unknownExpansion)
            return
        }
        let assigns = unit == Self.equals || unit == Self.byte(":") && peek(1) == Self.equals
        while let op = peek(), op >= 0, operators.contains(op) { position += 1 }
        let assigned = nested { $0.scanParameterWord(into: &word, quoting: inner) }
        if assigns, !name.isEmpty { implicitAssignments.append((name, assigned)) }
    }

    /// The word of `${x:-word}`, `${x#pattern}`, `${x/pattern/text}`: text.
    private mutating func scanParameterWord(into word: inout ScriptWord, quoting: ScriptPlace.Quoting) {
        while let unit = peek() {
            if unit < 0 {
                record(expressionAt: quoting, in: &word)
            } else if unit == Self.backslash {
                position += 2
            } else if unit == Self.dollar {
                scanDollar(into: &word, quoted: quoting != .bare)
            } else if unit == Self.backquote {
                scanBackquoted(into: &word)
            } else if unit == Self.doubleQuote {
                position += 1
                scanDoubleQuoted(into: &word)
            } else if unit == Self.singleQuote, quoting == .bare {
                position += 1
                scanSingleQuoted(into: &word, quoting: .singleQuoted)
            } else {
                position += 1
                if unit == Self.closeBrace { return }
            }
        }
    }

    /// Everything to the `}` that closes the expansion is refused.
    private mutating func refuseUntilBrace(_ refusal: ScriptRefusal) {
        var depth = 0
        while let unit = peek() {
            position += 1
            if unit < 0 {
                refuse(.expression(-1 - unit), refusal)
            } else if unit == Self.openBrace {
                depth += 1
            } else if unit == Self.closeBrace {
                if depth == 0 { return }
                depth -= 1
            } else if unit == Self.byte("_") || ScriptWord.isLetter(UInt8(unit)) {
                position -= 1
                refuse(.variable(readName()), refusal)
            }
        }
    }

    /// Arithmetic text to `closer` (`))` when doubled): every value and every
    /// variable in it is evaluated, and a `$(…)` in it becomes its text.
    private mutating func scanArithmetic(closer: Int, doubled: Bool) {
        var depth = 0
        var text: [UInt8] = []
        let occurrences = nested { scanner in
            while let unit = scanner.peek() {
                if unit < 0 {
                    scanner.refuse(.expression(-1 - unit), .arithmetic)
                    scanner.position += 1
                } else if unit == Self.backslash {
                    // An escaped character is not the closer: skip it as bash does.
                    text.append(UInt8(ascii: " "))
                    scanner.position += 2
                } else if unit == Self.singleQuote || unit == Self.doubleQuote || unit == Self.backquote || unit == Self.dollar {
                    // Quotes and expansions end where bash ends them, not at a
                    // `)` or `]` inside them; what they hold is evaluated too.
                    var inner = ScriptWord()
                    if unit == Self.singleQuote {
                        scanner.position += 1
                        scanner.scanSingleQuoted(into: &inner, quoting: .singleQuoted)
                    } else if unit == Self.doubleQuote {
                        scanner.position += 1
                        scanner.scanDoubleQuoted(into: &inner)
                    } else if unit == Self.backquote {
                        scanner.scanBackquoted(into: &inner)
                    } else {
                        scanner.scanDollar(into: &inner, quoted: true)
                    }
                    text += [UInt8(ascii: " ")] + inner.bytes.filter { !ScriptWord.expansionMark.contains($0) } + [UInt8(ascii: " ")]
                } else if unit == Self.openParen || unit == Self.openBracket || unit == Self.openBrace {
                    depth += 1
                    text.append(UInt8(unit))
                    scanner.position += 1
                } else if unit == closer, depth == 0 {
                    scanner.position += 1
                    if doubled, scanner.peek() == Self.closeParen { scanner.position += 1 }
                    return
                } else if unit == Self.closeParen || unit == Self.closeBracket || unit == Self.closeBrace {
                    depth = max(0, depth - 1)
                    text.append(UInt8(unit))
                    scanner.position += 1
                } else {
                    text.append(UInt8(unit))
                    scanner.position += 1
                }
            }
        }
        for occurrence in occurrences { refuse(occurrence, .arithmetic) }
        for name in ScriptWord.names(inArithmetic: String(decoding: text, as: UTF8.self)) {
            refuse(.variable(name), .arithmetic)
        }
    }

    /// `name=( … )`: elements are text, a `[subscript]=` is arithmetic.
    private mutating func scanArrayElements(into assignment: inout ScriptWord) {
        while true {
            while let unit = peek(), unit == Self.space || unit == Self.tab || unit == Self.newline { position += 1 }
            guard let unit = peek() else { return }
            if unit == Self.closeParen {
                position += 1
                return
            }
            if unit == Self.hash { scanComment(); continue }
            let before = position
            let element = scanWord()
            if position == before { position += 1 }
            if element.bytes.first == UInt8(ascii: "[") {
                for occurrence in element.everything { refuse(occurrence, .arrayElement) }
                let index = element.bytes.prefix { $0 != UInt8(ascii: "]") }
                for name in ScriptWord.names(inArithmetic: String(decoding: index, as: UTF8.self)) {
                    refuse(.variable(name), .arrayElement)
                }
            } else {
                for occurrence in element.occurrences.map(\.occurrence) { record(occurrence, in: &assignment) }
                assignment.nested += element.nested
            }
            assignment.isLiteral = false
        }
    }
}
