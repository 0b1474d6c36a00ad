/// Turns the YAML tree of a job file into a `Job`, reporting every structural
/// problem (unknown keys, wrong types, missing fields) with its position.
struct JobDecoder {
    let context: DecodeContext

    static let supportedVersion = 1

    func decode(_ root: YAMLNode) -> Job? {
        guard var keys = MappingReader(root, "the job", context: context) else { return nil }
        var version: Int?
        if let node = keys("version") {
            if let value = context.integer(node, "version", range: 0...Int(Int32.max)) {
                if value == Self.supportedVersion {
                    version = value
                } else {
                    context.error(node.location, "unsupported version \(value)", hint: "this atomd reads version \(Self.supportedVersion)")
                }
            }
        } else {
            context.error(root.location, "missing 'version'", hint: "start the file with 'version: 1'")
        }
        let nameNode = keys("name")
        let name = nameNode.flatMap { context.name($0, "job name", pattern: .label) }
        if nameNode == nil {
            context.error(root.location, "missing 'name'", hint: "add 'name: my-job'")
        }
        let description = keys("description").flatMap { context.string($0, "description") }
        let vars = keys("vars").map(decodeVars) ?? [:]
        let env = keys("env").map { decodeEnvironment($0, "env") } ?? []
        let secretsNode = keys("secrets")
        let secrets = secretsNode.map(decodeSecrets) ?? [:]
        let defaults = keys("defaults").map(decodeDefaults) ?? StepDefaults()
        let onFailure = keys("on_failure").flatMap(decodeFailurePolicy) ?? .revert
        let rollback = keys("rollback").map(decodeRollback) ?? RollbackOptions()
        let rehearse = keys("rehearse").map(decodeRehearse) ?? false
        let steps = StepDecoder(context: context, defaults: defaults)
        var main: [Step] = []
        if let node = keys("steps") {
            main = steps.decodeList(node, "steps", parentMode: .sequence)
            if case .sequence(let items) = node.kind, items.isEmpty {
                context.error(node.location, "'steps' is empty", hint: "a job needs at least one step")
            }
        } else {
            context.error(root.location, "missing 'steps'", hint: "add a 'steps:' list")
        }
        let finally = keys("finally").map { steps.decodeList($0, "finally", parentMode: .sequence) } ?? []
        keys.finish()
        guard let version, let name else { return nil }
        var job = Job(
            file: context.file, version: version, name: name, description: description, vars: vars, env: env,
            secrets: secrets, defaults: defaults, onFailure: onFailure, rollback: rollback, rehearseAllowed: rehearse, steps: main,
            finally: finally, location: root.location)
        if case .mapping(let pairs)? = secretsNode?.kind {
            for pair in pairs { job.secretLocations[pair.key.scalarText] = pair.value.location }
        }
        return job
    }

    private func decodeVars(_ node: YAMLNode) -> [String: JSONValue] {
        guard case .mapping(let pairs) = node.kind else {
            context.error(node.location, "'vars' must be a mapping, not \(node.kindName)")
            return [:]
        }
        var vars: [String: JSONValue] = [:]
        for pair in pairs {
            guard let name = context.name(pair.key, "variable name", pattern: .identifier) else { continue }
            if case .scalar(let scalar) = pair.value.kind, scalar.text.contains("${{") {
                context.error(pair.value.location, "variables are plain values; '${{' is not evaluated here",
                              hint: "use the expression where the variable is used")
            }
            vars[name] = pair.value.jsonValue
        }
        return vars
    }

    func decodeEnvironment(_ node: YAMLNode, _ field: String) -> [EnvironmentVariable] {
        if case .mapping(let pairs) = node.kind {
            for pair in pairs where pair.key.scalarText.hasPrefix("ATOMD_") {
                context.error(pair.key.location, "environment variable names starting with ATOMD_ are atomd's own",
                              hint: "choose another name")
            }
        }
        let variables = context.templateMap(node, field, keys: "environment variable name", pattern: .identifier)
            .map { EnvironmentVariable(name: $0.name, value: $0.value) }
        // A value (from --var, an API, a sidecar) must not decide what runs:
        // the same names a script may not assign one to (ScriptCommands).
        for variable in variables where ScriptCommands.decidesExecution(variable.name) {
            if let expression = variable.value.expressions.first {
                context.error(expression.location, "'${{' in \(variable.name), which decides what runs (a search path, a library, a shell's startup file, a command line)",
                              hint: "set \(variable.name) literally, or choose among known values in the script with case")
            }
        }
        return variables
    }

    private func decodeSecrets(_ node: YAMLNode) -> [String: SecretSource] {
        guard case .mapping(let pairs) = node.kind else {
            context.error(node.location, "'secrets' must be a mapping, not \(node.kindName)")
            return [:]
        }
        var secrets: [String: SecretSource] = [:]
        for pair in pairs {
            guard let name = context.name(pair.key, "secret name", pattern: .identifier),
                  var keys = MappingReader(pair.value, "secret '\(name)'", context: context)
            else { continue }
            let fromEnv = keys("env").flatMap { context.name($0, "environment variable name", pattern: .identifier) }
            let fromFile = keys("file").flatMap { context.string($0, "file") }
            keys.finish(extraHint: ["value": "secret values never go in job files; name an env variable or a file of the agent"])
            switch (fromEnv, fromFile) {
            case (let variable?, nil): secrets[name] = .environment(variable)
            case (nil, let path?):
                if path.hasPrefix("/") {
                    secrets[name] = .file(path)
                } else {
                    context.error(pair.value.location, "secret '\(name)': file must be an absolute path, not '\(path)'")
                }
            case (.some, .some):
                context.error(pair.value.location, "secret '\(name)' has both 'env' and 'file'", hint: "keep one")
            case (nil, nil):
                if !keys.keys.contains(where: { $0 == "env" || $0 == "file" }) {
                    context.error(pair.value.location, "secret '\(name)' needs 'env' or 'file'",
                                  hint: "write { env: VARIABLE } or { file: /etc/atomd/secrets/NAME }")
                }
            }
        }
        return secrets
    }

    private func decodeDefaults(_ node: YAMLNode) -> StepDefaults {
        guard var keys = MappingReader(node, "'defaults'", context: context) else { return StepDefaults() }
        let timeout = keys("timeout").flatMap { context.duration($0, "timeout") }
        let retry = keys("retry").flatMap { RetryDecoder(context: context).decodePolicy($0, base: nil) }
        keys.finish()
        return StepDefaults(timeout: timeout, retry: retry)
    }

    private func decodeFailurePolicy(_ node: YAMLNode) -> FailurePolicy? {
        guard let text = context.string(node, "on_failure") else { return nil }
        guard let policy = FailurePolicy(rawValue: text) else {
            let names = FailurePolicy.allCases.map(\.rawValue)
            context.error(node.location, "on_failure must be one of \(names.joined(separator: ", ")), not '\(text)'",
                          hint: Suggestion.hint(for: text, in: names))
            return nil
        }
        return policy
    }

    /// `rehearse: allowed`, the one value there is: a job that does not
    /// say so needs `atomd rehearse --yes`.
    private func decodeRehearse(_ node: YAMLNode) -> Bool {
        guard let text = context.string(node, "rehearse") else { return false }
        guard text == "allowed" else {
            context.error(node.location, "rehearse must be 'allowed', not '\(text)'",
                          hint: "leave it out to make `atomd rehearse` ask for --yes")
            return false
        }
        return true
    }

    private func decodeRollback(_ node: YAMLNode) -> RollbackOptions {
        guard var keys = MappingReader(node, "'rollback'", context: context) else { return RollbackOptions() }
        let autoResume = keys("auto_resume").flatMap { context.bool($0, "auto_resume") } ?? false
        keys.finish()
        return RollbackOptions(autoResume: autoResume)
    }
}
