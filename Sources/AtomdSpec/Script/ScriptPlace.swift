/// Where a `${{ }}` sits in a POSIX shell script, and whether its value can
/// go there (DESIGN.md section 2): the value goes into an environment
/// variable, and the script gets a reference to it written for the quoting
/// around the expression. A place bash could turn into code carries a refusal.
public struct ScriptPlace: Sendable, Hashable {
    /// The quoting around the expression, which decides how the reference is written.
    public enum Quoting: Sendable, Hashable {
        /// An unquoted word: the reference is double-quoted, so the value
        /// stays one word, unsplit and unglobbed.
        case bare
        /// Inside `"…"`, or in a heredoc body: the reference goes in as is.
        case doubleQuoted
        /// Inside `'…'`: the quotes are closed around a double-quoted reference.
        case singleQuoted
        /// Inside bash's `$'…'`.
        case ansiQuoted
        /// Where nothing expands (a comment): the reference is inert.
        case inert
    }

    public var quoting: Quoting
    /// Why the value cannot go here, and the safe form; nil where it can.
    public var refusal: ScriptRefusal?
    /// The value starts an argument word of a command that takes options,
    /// with no `--` before it: a value starting with `-` is refused when the
    /// step runs (it would be an option).
    public var optionPosition: Bool

    public init(quoting: Quoting, refusal: ScriptRefusal?, optionPosition: Bool = false) {
        self.quoting = quoting
        self.refusal = refusal
        self.optionPosition = optionPosition
    }

    /// The script text that reads environment variable `name` here.
    public func reference(to name: String) -> String {
        switch quoting {
        case .bare: "\"${\(name)}\""
        case .doubleQuoted, .inert: "${\(name)}"
        case .singleQuoted: "'\"${\(name)}\"'"
        case .ansiQuoted: "'\"${\(name)}\"$'"
        }
    }
}

/// Why bash could run a value as code at some place, and what to write instead.
public struct ScriptRefusal: Sendable, Hashable {
    public var message: String
    public var hint: String

    static let throughEnvironment = "pass the value through the step's env: and check it in the script before using it"

    static let arithmetic = ScriptRefusal(
        message: "'${{' would be evaluated as arithmetic (in $(( )), (( )), $[ ], let, a subscript or ${x:offset}), where a value such as a[$(cmd)] runs a command",
        hint: "pass the value through env:, check that it is a number ([[ $N =~ ^[0-9]+$ ]]), then use it")
    static let backquoted = ScriptRefusal(
        message: "'${{' inside backquotes is parsed twice by the shell",
        hint: "write $( … ) instead of backquotes")
    static let quotedHeredoc = ScriptRefusal(
        message: "'${{' in a heredoc with a quoted delimiter is never expanded, so its value would become the text of whatever reads the heredoc",
        hint: "unquote the delimiter (<<EOF) for a heredoc read by cat, or pass the value through env: and read it from the environment")
    static let heredocDelimiter = ScriptRefusal(
        message: "'${{' in a heredoc's delimiter would decide where the heredoc ends",
        hint: "write the delimiter literally (<<EOF)")
    static let indirection = ScriptRefusal(
        message: "'${{' used through ${!…} or ${…@P} is evaluated (as a variable name with a subscript, or as a prompt string that runs $(…))",
        hint: throughEnvironment)
    static let unknownExpansion = ScriptRefusal(
        message: "'${{' is in a ${…} expansion atomd does not know, so it cannot tell whether bash evaluates it",
        hint: "use ${NAME:-default}, ${NAME#pattern}, ${NAME/pattern/replacement} and the like, or pass the value through env:")
    static let command = ScriptRefusal(
        message: "'${{' would choose the command to run",
        hint: "name the command in the script; pass the value as an argument of a command named literally, or through env:")
    static let name = ScriptRefusal(
        message: "'${{' would name a variable, and bash evaluates a subscript in a name (a[$(cmd)])",
        hint: "write the name literally: NAME=\"${{ … }}\"")
    static let loopVariable = ScriptRefusal(
        message: "'${{' would name the loop's variable, and bash evaluates a subscript in a name",
        hint: "write the name literally: for item in \"${{ … }}\"")
    static let arrayElement = ScriptRefusal(
        message: "'${{' in an array assignment's [subscript]= would be evaluated as arithmetic",
        hint: "use the value as an element: list=(\"${{ … }}\"), or pass it through env:")
    static let declarationFlags = ScriptRefusal(
        message: "'${{' in a declaration with -i, -n, -a or -A: bash evaluates the value as arithmetic, a variable name or an array text",
        hint: "declare the variable without those flags and assign the value as text, or pass it through env: and check it first")
    static let conditionalArithmetic = ScriptRefusal(
        message: "'${{' beside -eq, -ne, -lt, -le, -gt or -ge in [[ ]]: bash evaluates both sides as arithmetic, where a[$(cmd)] runs a command",
        hint: "use [ … -eq … ] (which compares numbers without evaluating them), or check the value with =~ ^[0-9]+$ first")
    static let testName = ScriptRefusal(
        message: "'${{' after -v or -R, or after another value in [ ] or test, can become a variable name whose subscript bash evaluates",
        hint: "compare with an operator written literally: [ \"${{ … }}\" = text ]")
    static let printfName = ScriptRefusal(
        message: "'${{' would name the variable printf -v or wait -p assigns, and bash evaluates a subscript in a name",
        hint: "write the variable name literally")

    static let tooDeep = ScriptRefusal(
        message: "'${{' is in a script whose expansions and substitutions nest more than 100 deep, which atomd does not follow",
        hint: "nest less, or pass the value through env:")

    static let ambiguous = ScriptRefusal(
        message: "'${{' is in a script with a heredoc line that starts with its delimiter (EOF) but goes on, where bash's end of the heredoc is not certain",
        hint: "end the heredoc on a line of its own")
    static let renamed = ScriptRefusal(
        message: "'${{' is in a script that renames commands or routes output (alias, hash, enable, coproc, BASH_CMDS, BASH_ALIASES), so no command name there can be trusted",
        hint: "call programs by their names and paths without renaming them, or pass the value through env:")
    static let tooTangled = ScriptRefusal(
        message: "'${{' is in a script whose variables pass values among themselves in more ways than atomd follows",
        hint: "assign the value to fewer variables, or pass it through env:")

    static func evaluating(_ construct: String) -> ScriptRefusal {
        ScriptRefusal(message: "'${{' is in a script that also runs text as code later (\(construct)), where atomd cannot follow a value",
                      hint: "keep \(construct) out of a script that takes values, or pass the value through env: and check it first")
    }

    static func arrayDeclaration(_ name: String) -> ScriptRefusal {
        ScriptRefusal(message: "'${{' is given to a declaration of \(name), which the script uses as an array: bash takes a value such as ([$(cmd)]=1) as array text",
                      hint: "assign the value with \(name)=\"${{ … }}\" (no local/declare), or use another variable")
    }

    static func builtin(_ name: String) -> ScriptRefusal {
        ScriptRefusal(message: "'${{' in the arguments of the builtin '\(name)', which evaluates them as code, arithmetic or variable names",
                      hint: throughEnvironment)
    }

    static func wrapper(_ name: String) -> ScriptRefusal {
        ScriptRefusal(message: "'${{' in the arguments of '\(name)', which runs them as a command or as code",
                      hint: "put the command in a script that reads the value from the environment (env:), and run that")
    }

    static func program(_ name: String) -> ScriptRefusal {
        ScriptRefusal(message: "'${{' in the program text of '\(name)' (or as the program it runs) would become code",
                      hint: "pass it as an argument after the program (\(name) -c 'program' \"${{ … }}\" reads it as $1 or sys.argv[1]), or through env: (os.environ, ENVIRON, $ENV)")
    }

    static func stdin(_ name: String) -> ScriptRefusal {
        ScriptRefusal(message: "'${{' in a heredoc read by \(name) would become part of the text \(name) interprets",
                      hint: "pass the value through env: and read it from the environment in \(name) (or write the text with cat > FILE <<EOF)")
    }

    static func pipeline(_ name: String) -> ScriptRefusal {
        ScriptRefusal(message: "'${{' reaches the output of a command piped to \(name), which reads its input as code",
                      hint: "write the text to a file with cat > FILE, or pass the value through env:")
    }

    static func integerVariable(_ name: String) -> ScriptRefusal {
        ScriptRefusal(message: "'${{' is assigned to \(name), which the script declares with -i or -n, so bash evaluates the value as arithmetic or a name",
                      hint: "assign it to a variable without -i, check that it is a number, then copy it")
    }

    static func executionVariable(_ name: String) -> ScriptRefusal {
        ScriptRefusal(message: "'${{' is assigned to \(name), which decides what runs (a search path, a library, a prompt, a command line)",
                      hint: "set \(name) literally in the script, or choose among known values with case")
    }

    /// The refusal of a place a variable holding the value reaches.
    func through(variable: String) -> ScriptRefusal {
        ScriptRefusal(message: "'${{' is assigned to \(variable), and then \(variable) \(message.dropFirst(6))",
                      hint: hint)
    }
}
