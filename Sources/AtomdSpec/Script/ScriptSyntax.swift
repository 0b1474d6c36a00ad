/// What a script's words hold that decides about a value: a `${{ }}` (by its
/// index in the template) or a reference to a shell variable, which carries
/// the expressions the script assigned to it.
enum ScriptOccurrence: Hashable {
    case expression(Int)
    case variable(String)
}

/// One word of a simple command, as far as values are concerned.
struct ScriptWord {
    /// The word without its quotes, as bytes; U+FFFC (in UTF-8) wherever
    /// something expands.
    var bytes: [UInt8] = []
    /// Nothing in it expands: what is written is what the command gets.
    var isLiteral = true
    /// Occurrences directly in the word, each with whether it comes after the
    /// `=` of an assignment-shaped word (`NAME=`, `NAME+=`, `NAME[…]=`).
    var occurrences: [(occurrence: ScriptOccurrence, afterEquals: Bool)] = []
    /// Occurrences inside `$( )`, `<( )` and `>( )` of the word: their own
    /// commands decide about them, and a refusal of the word covers them too.
    var nested: [ScriptOccurrence] = []
    /// The first commands of `>( )` in the word, which read what the command writes.
    var sinks: [Int] = []
    /// Where in `bytes` the assignment's `=` is.
    var equals: Int?
    /// The expression the word starts with, if it starts with one.
    var leadingExpression: Int?
    /// An unquoted `{`, `*`, `?` or `[`: bash may make other words of it.
    var isPattern = false

    init() {}

    init(bytes: [UInt8]) { self.bytes = bytes }

    var text: String { String(decoding: bytes, as: UTF8.self) }
    var literalText: String? { isLiteral ? text : nil }
    var everything: [ScriptOccurrence] { occurrences.map(\.occurrence) + nested }

    /// The variable an assignment word assigns, without `+` or subscript.
    var assignedName: String? {
        guard let equals else { return nil }
        let name = bytes[..<equals].prefix { $0 != UInt8(ascii: "[") && $0 != UInt8(ascii: "+") }
        return String(decoding: name, as: UTF8.self)
    }

    /// The `[…]` of an assignment word (`a[i]=`), which bash evaluates.
    var assignedSubscript: String? {
        guard let equals, let open = bytes[..<equals].firstIndex(of: UInt8(ascii: "[")) else { return nil }
        return String(decoding: bytes[open..<equals], as: UTF8.self)
    }

    static let expansionMark: [UInt8] = Array("\u{FFFC}".utf8)

    mutating func expands() {
        isLiteral = false
        bytes += Self.expansionMark
    }

    /// Whether `bytes` so far is the name part of an assignment.
    var isAssignmentPrefix: Bool {
        var name = bytes[...]
        if name.last == UInt8(ascii: "+") { name = name.dropLast() }
        if name.last == UInt8(ascii: "]"), let open = name.firstIndex(of: UInt8(ascii: "[")) { name = name[..<open] }
        return ScriptWord.isName(name)
    }

    static func isName<C: Collection<UInt8>>(_ bytes: C) -> Bool {
        guard let first = bytes.first, first == UInt8(ascii: "_") || isLetter(first) else { return false }
        return bytes.allSatisfy { $0 == UInt8(ascii: "_") || isLetter($0) || isDigit($0) }
    }

    static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    /// Variable names written bare in arithmetic text (`x+1`, `a[i]`), which
    /// bash evaluates by their values.
    static func names(inArithmetic text: String) -> [String] {
        var names: [String] = []
        var current: [UInt8] = []
        var inNumber = false
        for byte in Array(text.utf8) + [0] {
            let wordByte = byte == UInt8(ascii: "_") || isLetter(byte) || isDigit(byte)
            if wordByte, !inNumber, !current.isEmpty || !isDigit(byte) {
                current.append(byte)
            } else {
                if !current.isEmpty { names.append(String(decoding: current, as: UTF8.self)) }
                current = []
                // 0x1f and 16#ff are numbers, not names.
                inNumber = wordByte || (inNumber && byte == UInt8(ascii: "#"))
            }
        }
        return names
    }
}

/// A simple command: its words, its redirections' targets, and what the
/// script feeds it on standard input.
struct ScriptCommandLine {
    var words: [ScriptWord] = [] {
        didSet { settleStart() }
    }
    /// File names after `>`, `<` and the like: data to the shell.
    var targets: [ScriptWord] = []
    /// Occurrences in here-strings and unquoted heredoc bodies.
    var input: [ScriptOccurrence] = []
    /// Commands joined by `|` share one.
    var pipeline = 0

    var isEmpty: Bool { words.isEmpty && targets.isEmpty && input.isEmpty }

    /// Where the command proper starts, after reserved words like `if` or
    /// `!`. Kept as words arrive: worked out again for every word, a line of
    /// 100,000 `{` took minutes.
    private(set) var start = 0
    /// The last reserved word was `time`, whose `-p` belongs to it.
    private var startAfterTime = false

    private mutating func settleStart() {
        if start > words.count {
            start = 0
            startAfterTime = false
        }
        while start < words.count {
            if startAfterTime, words[start].literalText == "-p" {
                start += 1
                startAfterTime = false
                continue
            }
            guard let text = words[start].literalText, ScriptCommands.reserved.contains(text) else { break }
            startAfterTime = text == "time"
            start += 1
        }
    }

    /// The command word's index, after reserved words and assignments.
    var commandIndex: Int {
        var index = start
        while index < words.count, words[index].equals != nil { index += 1 }
        return index
    }

    /// The command's name when the script writes it: the whole word, or
    /// the path after the last expansion (`"$root/bin/app"`, where a value
    /// chooses the directory but the script names the program).
    var name: String? {
        let index = commandIndex
        guard index < words.count else { return nil }
        // `{bash,-c}` or `/usr/bin/[b]ash`: the command bash runs is not the text.
        if words[index].isPattern, !["[", "[[", "{", "}"].contains(words[index].text) { return nil }
        if let text = words[index].literalText { return ScriptCommands.name(text) }
        let bytes = words[index].bytes
        let mark = ScriptWord.expansionMark
        var suffix = bytes[...]
        while let end = suffix.firstRange(of: mark)?.upperBound { suffix = suffix[end...] }
        guard let slash = suffix.firstIndex(of: UInt8(ascii: "/")), slash + 1 < suffix.endIndex else { return nil }
        return ScriptCommands.name(String(decoding: suffix, as: UTF8.self))
    }
}
