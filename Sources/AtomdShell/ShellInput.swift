import AtomdEngine
import AtomdSpec

/// The `run` atom's input: built from a `run:` action (a step's, or its
/// `revert:`, `check:` or `state:`), journaled, and read back by the atom.
extension ShellCommand {
    /// The input for a `run:` action with the values known now. A value in
    /// the script goes into an environment variable of its own, and the
    /// script gets a reference to it written for its quoting context.
    static func input(for shell: ShellAction, values: ActionValues) throws(EvaluationError) -> JSONValue {
        var env: [String: JSONValue] = [:]
        for variable in values.environment + shell.env {
            env[variable.name] = .string(try values.string(variable.value))
        }
        let script = try script(shell, values: values)
        env.merge(script.values.mapValues(JSONValue.string)) { _, value in value }
        var input: [String: JSONValue] = [
            "script": .string(script.text),
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
        if let limits = shell.limits {
            var fields: [String: JSONValue] = [:]
            if let memory = limits.memory { fields["memory_bytes"] = .integer(Int64(memory)) }
            if let cpu = limits.cpu { fields["cpu"] = .number(cpu) }
            if let pids = limits.pids { fields["pids"] = .integer(Int64(pids)) }
            input["limits"] = .object(fields)
        }
        return .object(input)
    }

    /// The script with references in place of its values, and the values
    /// by variable name. Validation refuses the contexts and interpreters
    /// that cannot take a value; a job built in code is refused here.
    static func script(_ shell: ShellAction, values: ActionValues) throws(EvaluationError)
        -> (text: String, values: [String: String]) {
        let expressions = shell.script.expressions
        guard !expressions.isEmpty else { return (shell.script.literalParts, [:]) }
        guard shell.takesValuesInScript else {
            throw EvaluationError(message: "\(shell.shell ?? "this interpreter") cannot take '${{' values in its script text; pass them through env:")
        }
        let places = ScriptClassifier.places(of: shell.script)
        var text = ""
        var variables: [String: String] = [:]
        var index = 0
        for part in shell.script.parts {
            switch part {
            case .literal(let literal): text += literal
            case .expression(let expression):
                let place = places[index]
                index += 1
                if let refusal = place.refusal { throw EvaluationError(message: refusal.message) }
                let value = try values.evaluator.evaluate(expression).interpolated
                // Each value becomes a variable of the step's process: part of its input.
                try values.charge(value.utf8.count)
                if place.optionPosition, value.hasPrefix("-") {
                    throw EvaluationError(message: "the value of ${{ \(expression.source) }} starts with '-' where it begins an argument, so the command would read it as an option; write -- before it in the script, or check the value first")
                }
                guard !value.utf8.contains(0) else {
                    throw EvaluationError(message: "the value of ${{ \(expression.source) }} contains a NUL byte, which no environment variable can hold")
                }
                let name = ShellAction.valueVariablePrefix + String(index)
                variables[name] = value
                text += place.reference(to: name)
            }
        }
        return (text, variables)
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
                  killGrace: grace, keepRunning: input["keep_running"] == .bool(true), limits: Self.limits(input["limits"]))
    }

    private static func limits(_ value: JSONValue) -> StepLimits? {
        guard case .object = value else { return nil }
        func integer(_ key: String) -> Int? { if case .integer(let number) = value[key] { Int(exactly: number) } else { nil } }
        var cpu: Double?
        switch value["cpu"] {
        case .number(let number): cpu = number
        case .integer(let number): cpu = Double(number)
        default: break
        }
        return StepLimits(memory: integer("memory_bytes"), cpu: cpu, pids: integer("pids"))
    }
}
