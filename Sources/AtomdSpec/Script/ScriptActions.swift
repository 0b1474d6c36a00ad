/// What a bash script does, as far as a crash during it is concerned: the
/// commands that may change or test something, one per pipeline, in order.
/// Commands that only steer the shell (`set`, `cd`, declarations, `echo` to
/// the log) are left out, and so are tests before anything else, which
/// guard the change rather than follow it.
struct ScriptActions {
    struct Command {
        var name: String
        /// The literal pieces of its arguments (options left out), between
        /// whatever expands: what a check that looks at its work names too.
        var pieces: [String]
    }

    private(set) var commands: [Command] = []

    private static let steering: Set<String> = [
        ":", "true", "set", "shopt", "cd", "pushd", "popd", "umask", "trap", "exit", "return",
        "local", "export", "readonly", "declare", "typeset", "for", "select", "case", "in", "function",
    ]
    private static let logging: Set<String> = ["echo", "printf"]
    private static let tests: Set<String> = ["test", "[", "[["]
    /// Commands that tidy up after the work or wait: what they do is no change a check would look for.
    static let tidying: Set<String> = ["rm", "rmdir", "sleep", "wait"]

    /// Empty when the script cannot be read.
    init(_ script: Template) {
        let scanner = ScriptScanner(script)
        guard !scanner.tooDeep, !scanner.ambiguous else { return }
        var lastPipeline: Int?
        for line in scanner.commands {
            guard line.commandIndex < line.words.count || !line.targets.isEmpty else { continue }
            let name = line.name ?? "a command"
            if Self.steering.contains(name) || Self.logging.contains(name) && line.targets.isEmpty { continue }
            if commands.isEmpty, Self.tests.contains(name) { continue }
            let arguments = line.words.dropFirst(min(line.commandIndex + 1, line.words.count)) + line.targets
            let pieces = arguments.filter { !$0.text.hasPrefix("-") }.flatMap { word in
                word.text.split(separator: "\u{FFFC}").map(String.init).filter { $0.count > 1 }
            }
            if lastPipeline == line.pipeline, !commands.isEmpty {
                commands[commands.count - 1].pieces += pieces
                continue
            }
            lastPipeline = line.pipeline
            commands.append(Command(name: name, pieces: pieces))
        }
    }
}
