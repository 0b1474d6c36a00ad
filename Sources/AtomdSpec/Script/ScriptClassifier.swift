/// Decides, for each `${{ }}` of a bash script, whether its value stays data:
/// a value is allowed only where the scanner and the command tables know
/// bash (and the command) take it as one word of text, and refused anywhere
/// else. A value assigned to a variable follows the variable: where the
/// variable is used decides too.
public enum ScriptClassifier {
    /// One place per expression of `template`, in order.
    public static func places(of template: Template) -> [ScriptPlace] {
        let scanner = ScriptScanner(template)
        if scanner.tooDeep || scanner.ambiguous {
            return scanner.quoting.map { ScriptPlace(quoting: $0, refusal: scanner.tooDeep ? .tooDeep : .ambiguous) }
        }
        var decision = Decision(scanner)
        for (occurrence, refusal) in scanner.refused { decision.refuse(occurrence, refusal) }
        for index in scanner.commands.indices { decision.classify(index) }
        decision.refusePipelines()
        return scanner.quoting.enumerated().map { index, quoting in
            ScriptPlace(quoting: quoting, refusal: decision.scriptWide ?? decision.refusals[index],
                        optionPosition: decision.optionPositions.contains(index))
        }
    }

    private struct Decision {
        let commands: [ScriptCommandLine]
        var refusals: [Int: ScriptRefusal] = [:]
        /// The expressions each variable may hold.
        private var taint: [String: Set<Int>] = [:]
        /// Variables declared with -i (arithmetic on assignment) or -n (a name).
        private var evaluatedNames: Set<String> = []

        /// Functions the script defines (and `function name` declares).
        private let functions: Set<String>
        /// The script uses alias, hash or enable: no name means what it says.
        private let renames: Bool

        /// Set when something in the script makes every value unsafe.
        var scriptWide: ScriptRefusal?
        /// Expressions that start an argument word no `--` precedes: a value
        /// there must not start with `-` (checked when the value is known).
        var optionPositions: Set<Int> = []
        private let implicitAssignments: [(name: String, values: [ScriptOccurrence])]
        private let arrays: Set<String>

        init(_ scanner: ScriptScanner) {
            let commands = scanner.commands
            self.commands = commands
            implicitAssignments = scanner.implicitAssignments
            // Arrays are also what declare -a/-A, mapfile and read -a name.
            var arrays = scanner.arrays
            for command in commands {
                guard let name = command.name else { continue }
                let arguments = command.words.dropFirst(command.commandIndex + 1)
                let flags = arguments.compactMap(\.literalText).filter { $0.hasPrefix("-") }.joined()
                let declaresArrays = ScriptCommands.declarations.contains(name) && (flags.contains("a") || flags.contains("A"))
                guard declaresArrays || ["mapfile", "readarray"].contains(name) || name == "read" && flags.contains("a") else { continue }
                for word in arguments {
                    if let assigned = word.assignedName { arrays.insert(assigned) }
                    if let text = word.literalText, ScriptWord.isName(Array(text.utf8)) { arrays.insert(text) }
                }
            }
            self.arrays = arrays
            self.functions = scanner.functions.union(commands.compactMap { command in
                let start = command.start
                guard start + 1 < command.words.count, command.words[start].literalText == "function" else { return nil }
                return command.words[start + 1].literalText
            })
            // An alias, a hashed path or a disabled builtin can make any
            // name run something else; a coprocess takes output anywhere.
            let renaming: Set<String> = ["alias", "hash", "enable", "coproc"]
            renames = commands.contains { command in
                renaming.contains(command.name ?? "") || command.words.contains { ["coproc"].contains($0.literalText) }
                    || command.words.contains { $0.text.contains("BASH_CMDS") || $0.text.contains("BASH_ALIASES") }
            }
            if renames { scriptWide = .renamed }
            // Text run as code later (eval, source, trap, a callback, an
            // indirect read, a nameref or `declare -p` fed back) takes values
            // where no account of variables can follow: a script with values
            // may not have any. `ATOMD_VALUE_n` are the values themselves.
            if let evaluator = Self.evaluator(in: commands, functions: self.functions, indirect: scanner.readsIndirectly) {
                scriptWide = scriptWide ?? .evaluating(evaluator)
            }
            if scanner.variablesRead.contains(where: { $0.hasPrefix(ShellAction.valueVariablePrefix) }) {
                scriptWide = scriptWide ?? .evaluating("a read of \(ShellAction.valueVariablePrefix)N, the values' own variables")
            }
            collectDeclarations()
            collectTaint()
        }

        private func sources(_ occurrence: ScriptOccurrence) -> Set<Int> {
            switch occurrence {
            case .expression(let index): [index]
            case .variable(let name): taint[name] ?? []
            }
        }

        mutating func refuse(_ occurrence: ScriptOccurrence, _ refusal: ScriptRefusal) {
            let reason: ScriptRefusal
            if case .variable(let name) = occurrence { reason = refusal.through(variable: name) } else { reason = refusal }
            for index in sources(occurrence) where refusals[index] == nil { refusals[index] = reason }
        }

        private mutating func refuse(_ words: some Sequence<ScriptWord>, _ refusal: ScriptRefusal) {
            for word in words { for occurrence in word.everything { refuse(occurrence, refusal) } }
        }

        // MARK: Variables

        /// Every assignment a command makes, with what is assigned.
        private func assignments(_ command: ScriptCommandLine) -> [(name: String, values: [ScriptOccurrence])] {
            var found: [(String, [ScriptOccurrence])] = []
            let words = command.words
            let start = command.start
            if start < words.count, ["for", "select"].contains(words[start].literalText), start + 1 < words.count,
               let name = words[start + 1].literalText {
                // `for a; do` walks the positional parameters.
                let list = words.dropFirst(start + 2)
                found.append((name, list.isEmpty ? [.variable("@")] : list.flatMap(\.everything)))
            }
            var arguments = words[start...].filter { $0.equals != nil }
            if let name = command.name, !ScriptCommands.declarations.contains(name) {
                arguments = Array(words[start..<command.commandIndex])
                let given = words.dropFirst(command.commandIndex + 1)
                if functions.contains(name) || name == "set" {
                    // What a function or `set --` is given becomes $1, $@, ….
                    for positional in ["@", "*", "BASH_ARGV"] + (1...9).map(String.init) {
                        found.append((positional, given.flatMap(\.everything)))
                    }
                }
                if name == "printf", let option = given.firstIndex(where: { $0.literalText == "-v" }),
                   option + 1 < words.count, let assigned = words[option + 1].literalText {
                    found.append((assigned, given.flatMap(\.everything)))
                }
                if name == "getopts" {
                    found.append(("OPTARG", given.flatMap(\.everything) + [.variable("@")]))
                }
                if ["cd", "pushd", "popd"].contains(name) {
                    for variable in ["PWD", "OLDPWD", "DIRSTACK"] { found.append((variable, given.flatMap(\.everything))) }
                }
            }
            // What bash assigns by itself: `$_` (the last argument) and the
            // matches of `[[ =~ ]]`.
            let everything = words.flatMap(\.everything)
            found.append(("_", everything))
            if start < words.count, words[start].literalText == "[[" { found.append(("BASH_REMATCH", everything)) }
            // A nameref and its target are one variable.
            if let name = command.name, ScriptCommands.declarations.contains(name),
               words.contains(where: { $0.literalText?.hasPrefix("-") == true && $0.literalText?.contains("n") == true }) {
                for word in words where word.equals != nil {
                    guard let reference = word.assignedName, let equals = word.equals, word.isLiteral else { continue }
                    let target = String(decoding: word.bytes[(equals + 1)...].prefix { $0 != UInt8(ascii: "[") }, as: UTF8.self)
                    found += [(reference, [.variable(target)]), (target, [.variable(reference)])]
                }
            }
            for word in arguments {
                if let name = word.assignedName {
                    found.append((name, word.occurrences.filter(\.afterEquals).map(\.occurrence) + word.nested))
                }
            }
            return found
        }

        /// A trap's literal texts, each read as the script it is.
        static func trapScripts(_ arguments: some Sequence<ScriptWord>) -> [ScriptScanner] {
            arguments.compactMap(\.literalText).map { ScriptScanner(Template(literal: $0, at: SourceLocation(line: 1, column: 1))) }
        }

        /// The first construct of the script that runs text as code later.
        private static func evaluator(in commands: [ScriptCommandLine], functions: Set<String>, indirect: Bool) -> String? {
            if indirect { return "${!…}" }
            if functions.contains("command_not_found_handle") { return "command_not_found_handle" }
            for command in commands {
                guard let name = command.name else { continue }
                let arguments = command.words.dropFirst(command.commandIndex + 1)
                let options = arguments.compactMap(\.literalText).filter { $0.hasPrefix("-") && !$0.hasPrefix("--") }.joined()
                switch name {
                case "trap" where arguments.allSatisfy(\.isLiteral):
                    // A trap's literal text is a script of its own: one that
                    // runs text as code is as bad as the outer one doing so.
                    for inner in trapScripts(arguments) {
                        if inner.tooDeep || inner.ambiguous { return name }
                        if let nested = evaluator(in: inner.commands, functions: inner.functions, indirect: inner.readsIndirectly) {
                            return "\(nested) in a trap"
                        }
                    }
                case "eval", "source", ".", "trap", "complete", "enable", "fc":
                    return name
                case "mapfile", "readarray" where options.contains("C"):
                    return "\(name) -C"
                case _ where ScriptCommands.declarations.contains(name) && (options.contains("p") || options.contains("n")):
                    return "\(name) -\(options.contains("p") ? "p" : "n")"
                default:
                    continue
                }
            }
            return nil
        }

        /// Spreads each variable's expressions to the variables assigned
        /// from it, a variable at a time (a worklist), within a budget: past
        /// it the script is too tangled to follow and every value is refused.
        private mutating func collectTaint() {
            let edges = commands.flatMap(assignments) + implicitAssignments
            var readers: [String: Set<String>] = [:]
            var pending: [String] = []
            for (name, values) in edges {
                for value in values {
                    switch value {
                    case .expression(let index):
                        if taint[name, default: []].insert(index).inserted { pending.append(name) }
                    case .variable(let source):
                        readers[source, default: []].insert(name)
                    }
                }
            }
            var work = 0
            while let name = pending.popLast() {
                let held = taint[name] ?? []
                for reader in readers[name] ?? [] {
                    work += held.count
                    guard work <= 2_000_000 else {
                        scriptWide = .tooTangled
                        return
                    }
                    let before = taint[reader, default: []].count
                    taint[reader, default: []].formUnion(held)
                    if taint[reader, default: []].count != before { pending.append(reader) }
                }
            }
        }

        private mutating func collectDeclarations() {
            for command in commands {
                guard let name = command.name, ScriptCommands.declarations.contains(name) else { continue }
                let arguments = command.words.dropFirst(command.commandIndex + 1)
                let flags = arguments.compactMap(\.literalText).filter { $0.hasPrefix("-") }.joined()
                guard flags.contains("i") || flags.contains("n") else { continue }
                for word in arguments {
                    if let assigned = word.assignedName {
                        evaluatedNames.insert(assigned)
                    } else if let text = word.literalText, !text.hasPrefix("-") {
                        evaluatedNames.insert(text)
                    }
                }
            }
        }

        // MARK: Commands

        mutating func classify(_ index: Int) {
            let command = commands[index]
            let words = command.words
            let start = command.start
            // `a[x]` as a name anywhere (test -v, printf -v, read, unset):
            // bash evaluates the subscript.
            for word in words + command.targets {
                if let open = word.bytes.firstIndex(of: UInt8(ascii: "[")), ScriptWord.isName(word.bytes[..<open]) {
                    refuseArithmeticNames(in: ScriptWord(bytes: Array(word.bytes[open...])))
                }
            }
            refuseExecutionVariables(command)
            if !command.input.isEmpty, !isDataReader(command) {
                for occurrence in command.input { refuse(occurrence, .stdin(command.name ?? "a command named by a value")) }
            }
            guard start < words.count else { return }
            switch words[start].literalText {
            case "for", "select":
                if start + 1 < words.count { refuse([words[start + 1]], .loopVariable) }
                return
            case "case":
                return
            case "[[":
                classifyConditional(Array(words[(start + 1)...]))
                return
            case "function":
                refuse(words.dropFirst(start + 1), .name)
                return
            default:
                break
            }
            let commandIndex = command.commandIndex
            for word in words[start..<commandIndex] { classifyAssignment(word) }
            guard commandIndex < words.count else { return }
            guard let name = command.name, !name.isEmpty else {
                refuse(words[commandIndex...], .command)
                return
            }
            notePositions(name, Array(words[(commandIndex + 1)...]))
            let arguments = Array(words[(commandIndex + 1)...])
            if ScriptCommands.declarations.contains(name) {
                classifyDeclaration(arguments)
            } else if ScriptCommands.builtins.contains(name) {
                if ScriptCommands.dataBuiltins.contains(name) {
                    classifyDataBuiltin(name, arguments)
                } else {
                    refuse(arguments, .builtin(name))
                    if name == "let" {
                        for word in arguments { refuseArithmeticNames(in: word) }
                    }
                    if name == "trap" {
                        // The trap's text runs later, as code: a variable it reads
                        // must not hold a value.
                        for inner in Self.trapScripts(arguments) {
                            for variable in inner.variablesRead { refuse(.variable(variable), .evaluating("trap")) }
                        }
                    }
                }
            } else if ScriptCommands.wrappers.contains(name) || ScriptCommands.isWrapperFamily(name) {
                refuse(arguments, .wrapper(name))
            } else if let options = ScriptCommands.codeOptions[name] {
                // Options whose value the program runs (git -c alias.x=!cmd,
                // tar --checkpoint-action=exec=cmd), with the value inside
                // the option word or after it.
                for (position, word) in arguments.enumerated() {
                    let previous = position > 0 ? arguments[position - 1].literalText ?? "" : ""
                    if options.contains(where: { Self.names(option: $0, word.text) || Self.names(option: $0, previous) }) {
                        refuse([word], .wrapper(name))
                    }
                }
            } else if ScriptCommands.isInterpreter(name) {
                let program = Self.programIndex(arguments) ?? arguments.count
                // A shell's `-c` program reads what follows as $1, $2 …,
                // where this account of values does not go.
                let inline = ScriptCommands.shells.contains(name) && arguments.contains { $0.literalText == "-c" }
                refuse(arguments[..<(inline ? arguments.count : min(arguments.count, program + 1))], .program(name))
            }
        }

        /// Assignments bash makes that are not `NAME=` words: `for NAME in`,
        /// `printf -v NAME`. A value may not decide what runs through them either.
        private mutating func refuseExecutionVariables(_ command: ScriptCommandLine) {
            for (name, values) in assignments(command) where ScriptCommands.decidesExecution(name) && name != "_" {
                refuse(values, .executionVariable(name))
            }
        }

        private mutating func classifyAssignment(_ word: ScriptWord) {
            refuse(word.occurrences.filter { !$0.afterEquals }.map(\.occurrence), .name)
            guard let name = word.assignedName else { return }
            let values = word.occurrences.filter(\.afterEquals).map(\.occurrence) + word.nested
            if evaluatedNames.contains(name) {
                refuse(values, .integerVariable(name))
                if let equals = word.equals {
                    refuseArithmeticNames(in: ScriptWord(bytes: Array(word.bytes[(equals + 1)...])))
                }
            } else if ScriptCommands.decidesExecution(name) {
                refuse(values, .executionVariable(name))
            }
            if let assignedIndex = word.assignedSubscript {
                for variable in ScriptWord.names(inArithmetic: assignedIndex) { refuse(.variable(variable), .arithmetic) }
            }
        }

        private mutating func refuse(_ occurrences: [ScriptOccurrence], _ refusal: ScriptRefusal) {
            for occurrence in occurrences { refuse(occurrence, refusal) }
        }

        private mutating func refuseArithmeticNames(in word: ScriptWord) {
            for variable in ScriptWord.names(inArithmetic: word.text) { refuse(.variable(variable), .arithmetic) }
        }

        private mutating func classifyDeclaration(_ arguments: [ScriptWord]) {
            let flags = arguments.compactMap(\.literalText).filter { $0.hasPrefix("-") || $0.hasPrefix("+") }.joined()
            // Flags written through a variable could be any of them.
            let unknownFlags = arguments.contains { $0.equals == nil && !$0.isLiteral }
            if unknownFlags || flags.contains(where: { "inaA".contains($0) }) {
                refuse(arguments, .declarationFlags)
                for word in arguments {
                    guard let equals = word.equals else { continue }
                    refuseArithmeticNames(in: ScriptWord(bytes: Array(word.bytes[(equals + 1)...])))
                }
                return
            }
            for word in arguments {
                if word.equals != nil {
                    classifyAssignment(word)
                    // A declaration of a name used as an array takes
                    // `([i]=v)` text as an array, evaluating `i`.
                    if let name = word.assignedName, arrays.contains(name) {
                        refuse(word.occurrences.filter(\.afterEquals).map(\.occurrence) + word.nested, .arrayDeclaration(name))
                    }
                } else {
                    refuse([word], .name)
                }
            }
        }

        private mutating func classifyDataBuiltin(_ name: String, _ arguments: [ScriptWord]) {
            for (index, word) in arguments.enumerated() where !word.everything.isEmpty {
                let previous = index > 0 ? arguments[index - 1] : nil
                switch name {
                case "test", "[":
                    if let previous, previous.literalText.map({ ["-v", "-R"].contains($0) }) ?? true {
                        refuse([word], .testName)
                    }
                case "printf", "wait":
                    // A value could be the option itself (`-va[$(cmd)]`): printf's
                    // format and wait's ids need a `--` or a literal before them.
                    let option = name == "printf" ? "-v" : "-p"
                    let ended = arguments[..<index].contains { $0.literalText == "--" }
                    let formatSeen = name == "printf" && arguments[..<index].contains { !($0.literalText?.hasPrefix("-") ?? true) }
                    if previous?.literalText == option || word.text.hasPrefix(option) || !(ended || formatSeen) {
                        refuse([word], .printfName)
                    }
                default:
                    break
                }
            }
        }

        private static let arithmeticOperators: Set<String> = ["-eq", "-ne", "-lt", "-le", "-gt", "-ge"]

        /// Inside `[[ ]]` operators are never values; the sides of numeric
        /// ones are arithmetic, the operand of -v and -R a name.
        private mutating func classifyConditional(_ words: [ScriptWord]) {
            for (index, word) in words.enumerated() {
                let previous = index > 0 ? words[index - 1].literalText : nil
                let next = index + 1 < words.count ? words[index + 1].literalText : nil
                if [previous, next].contains(where: { $0.map(Self.arithmeticOperators.contains) ?? false }) {
                    refuse([word], .conditionalArithmetic)
                    refuseArithmeticNames(in: word)
                } else if previous == "-v" || previous == "-R" {
                    refuse([word], .testName)
                }
            }
        }

        /// Whether `word` is, or starts with, `option`: GNU programs take any
        /// unambiguous abbreviation of a long option (`--use-compress-prog`),
        /// and short options bundle (`-cI CMD`).
        static func names(option: String, _ word: String) -> Bool {
            if word.hasPrefix(option) { return true }
            if option.hasPrefix("--") {
                let given = word.prefix { $0 != "=" }
                return given.count >= 4 && given.hasPrefix("--") && option.hasPrefix(given)
            }
            guard option.count == 2, let letter = option.last, word.hasPrefix("-"), !word.hasPrefix("--") else { return false }
            return word.dropFirst().contains(letter)
        }

        /// The index of the argument that is an interpreter's program: the
        /// one after -c or -e, or the first operand that does not follow an
        /// option (which might be that option's argument).
        static func programIndex(_ arguments: [ScriptWord]) -> Int? {
            var afterOption = false
            for (index, word) in arguments.enumerated() {
                guard let text = word.literalText else { return nil }
                if ScriptCommands.programOptions.contains(text) {
                    return index + 1 < arguments.count ? index + 1 : nil
                }
                if text == "--" { return index + 1 < arguments.count ? index + 1 : nil }
                if text.hasPrefix("-") {
                    afterOption = true
                } else if afterOption {
                    afterOption = false
                } else {
                    return index
                }
            }
            return nil
        }

        // MARK: Input

        /// Whether what the command reads on standard input stays data: it
        /// is a known reader of data, or an interpreter given its program.
        private func isDataReader(_ command: ScriptCommandLine) -> Bool {
            guard let name = command.name, !renames, !functions.contains(name) else { return false }
            if ScriptCommands.dataReaders.contains(name) { return true }
            guard ScriptCommands.isInterpreter(name) else { return false }
            let arguments = Array(command.words.dropFirst(command.commandIndex + 1))
            // A program read from standard input is what the heredoc holds.
            guard let program = Self.programIndex(arguments), let text = arguments[program].literalText else { return false }
            return text != "-" && !text.hasPrefix("/dev/") && !text.hasPrefix("/proc/")
        }

        /// Commands whose arguments a value could turn into options: all but
        /// the builtins that take none that matter.
        private static let optionless: Set<String> = ["echo", "true", "false", ":", "exit", "return", "shift", "test", "[",
                                                      "cd", "pushd", "popd", "dirs", "type", "umask", "ulimit", "set"]

        /// Values that start an argument word no `--` precedes: a value
        /// starting with `-` there would be an option (`sed 's/a/b/' -e1e…`,
        /// `git grep --open-files-in-pager=…`), which the step then refuses.
        private mutating func notePositions(_ name: String, _ arguments: [ScriptWord]) {
            guard !Self.optionless.contains(name) else { return }
            for word in arguments {
                if word.literalText == "--" { return }
                if let first = word.leadingExpression { optionPositions.insert(first) }
            }
        }

        /// What ends a compound command, or calls a function: its output is
        /// not one simple command's.
        private func isCompound(_ command: ScriptCommandLine) -> Bool {
            guard let first = command.words.first?.literalText else { return false }
            return ["}", "fi", "done", "esac", "( … )"].contains(first) || functions.contains(command.name ?? "")
        }

        /// A command whose output reaches one that reads its input as code
        /// (`… | bash`, `tee >(sh)`): its values would become that code.
        /// A compound command or function piped there, or a `>( )` into
        /// such a reader anywhere (whose descriptor any command may write
        /// to), makes every value of the script unsafe.
        mutating func refusePipelines() {
            for command in commands {
                for sink in (command.words + command.targets).flatMap(\.sinks) where !isDataReader(commands[sink]) {
                    scriptWide = scriptWide ?? .pipeline(commands[sink].name ?? "a command named by a value")
                }
            }
            var members: [Int: [Int]] = [:]
            for (index, command) in commands.enumerated() { members[command.pipeline, default: []].append(index) }
            for indices in members.values {
                var reader: String?
                for index in indices.reversed() {
                    let command = commands[index]
                    let sinks = (command.words + command.targets).flatMap(\.sinks).filter { !isDataReader(commands[$0]) }
                    if let sink = sinks.first { reader = reader ?? commands[sink].name ?? "a command named by a value" }
                    if let reader {
                        refuse(command.words, .pipeline(reader))
                        refuse(command.input, .pipeline(reader))
                    }
                    if let reader, isCompound(command) { scriptWide = scriptWide ?? .pipeline(reader) }
                    if !command.words.isEmpty, !isDataReader(command), index != indices.first {
                        reader = reader ?? command.name ?? "a command named by a value"
                    }
                }
            }
        }
    }
}
