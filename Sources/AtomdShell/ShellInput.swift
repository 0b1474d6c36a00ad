import AtomdEngine
import AtomdSpec

/// The `run` atom's input: built from a `run:` action (a step's, or its
/// `revert:`, `check:` or `state:`), journaled, and read back by the atom.
extension ShellCommand {
    /// The input for a `run:` action with the values known now. Every
    /// substitution in the script becomes one single-quoted shell word.
    static func input(for shell: ShellAction, values: ActionValues) throws(EvaluationError) -> JSONValue {
        var env: [String: JSONValue] = [:]
        for variable in values.environment + shell.env {
            env[variable.name] = .string(try values.string(variable.value))
        }
        var input: [String: JSONValue] = [
            "script": .string(try script(shell.script, values: values)),
            "env": .object(env),
        ]
        if let path = shell.shell { input["shell"] = .string(path) }
        if let cwd = shell.cwd { input["cwd"] = .string(try values.string(cwd)) }
        if let user = shell.user { input["user"] = .string(try values.string(user)) }
        if let group = shell.group { input["group"] = .string(try values.string(group)) }
        if let codes = shell.successCodes { input["success_codes"] = .array(codes.map { .integer(Int64($0)) }) }
        if let codes = shell.absentCodes { input["absent_codes"] = .array(codes.map { .integer(Int64($0)) }) }
        if let grace = shell.killGrace { input["kill_grace_ms"] = .integer(Int64(grace / .milliseconds(1))) }
        if shell.keepRunning { input["keep_running"] = .bool(true) }
        return .object(input)
    }

    /// So a value can never inject shell syntax (`'; rm -rf /'` stays one
    /// harmless argument).
    static func script(_ template: Template, values: ActionValues) throws(EvaluationError) -> String {
        var script = ""
        for part in template.parts {
            switch part {
            case .literal(let text): script += text
            case .expression(let expression): script += shellQuote(try values.evaluator.evaluate(expression).interpolated)
            }
        }
        return script
    }

    static func shellQuote(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// Reads the input `input(for:values:)` built.
    init(input: JSONValue) throws(ShellError) {
        guard case .string(let script) = input["script"] else { throw ShellError("the run atom needs a script") }
        var environment: [String: String] = [:]
        if case .object(let env) = input["env"] {
            for (name, value) in env { environment[name] = value.interpolated }
        }
        func string(_ key: String) -> String? {
            if case .string(let text) = input[key] { return text }
            return nil
        }
        func codes(_ key: String) -> [Int]? {
            guard case .array(let items) = input[key] else { return nil }
            return items.compactMap { if case .integer(let code) = $0 { Int(code) } else { nil } }
        }
        var grace = Duration.seconds(10)
        if case .integer(let milliseconds) = input["kill_grace_ms"] { grace = .milliseconds(milliseconds) }
        self.init(script: script, shell: string("shell") ?? "bash", environment: environment,
                  workingDirectory: string("cwd"), user: string("user"), group: string("group"),
                  successCodes: codes("success_codes") ?? [0], absentCodes: codes("absent_codes") ?? [1],
                  killGrace: grace, keepRunning: input["keep_running"] == .bool(true))
    }
}
