import Foundation

/// Reads `atomd.yaml` with the same strictness as job files: unknown keys
/// with a hint, typed values, every error with file, line and column.
public enum ConfigLoader {
    public static func load(path: String) throws(SpecErrors) -> AgentConfig {
        try load(bytes: JobLoader.read(path, limits: .jobFile), file: path)
    }

    /// `file`: the name for messages, and the base of relative plugin directories.
    public static func load(bytes: [UInt8], file path: String) throws(SpecErrors) -> AgentConfig {
        let limits = YAMLLimits.jobFile
        let document: YAMLNode?
        do {
            document = try YAMLComposer.composeDocument(bytes, file: path, limits: limits)
        } catch {
            throw SpecErrors([error])
        }
        var config = AgentConfig(file: path)
        guard let root = document else { return config }
        let context = DecodeContext(file: path, source: SourceText(bytes))
        if !root.isNull, var keys = MappingReader(root, "the configuration", context: context) {
            if let agent = keys("agent") { config.agent = decodeAgent(agent, context: context) }
            if let api = keys("api") { config.api = decodeAPI(api, context: context) }
            if let plugins = keys("plugins") { config.plugins = decodePlugins(plugins, context: context) }
            if let journal = keys("journal") { config.journal = decodeJournal(journal, context: context) }
            keys.finish()
        }
        guard context.diagnostics.isEmpty else { throw SpecErrors(context.diagnostics) }
        return config
    }

    private static func decodeAgent(_ node: YAMLNode, context: DecodeContext) -> AgentSection {
        var agent = AgentSection()
        guard var keys = MappingReader(node, "agent", context: context) else { return agent }
        if let spool = keys("spool") { agent.spool = path(spool, "agent.spool", context: context) }
        if let logs = keys("logs") { agent.logs = path(logs, "agent.logs", context: context) }
        if let maxRuns = keys("max_runs") { agent.maxRuns = context.integer(maxRuns, "agent.max_runs", range: 1...1024) }
        if let timeout = keys("stop_timeout") { agent.stopTimeout = context.duration(timeout, "agent.stop_timeout") }
        if let sync = keys("journal_sync"), let text = context.string(sync, "agent.journal_sync") {
            if text == "full" || text == "normal" {
                agent.journalSync = text
            } else {
                context.error(sync.location, "'agent.journal_sync' must be full or normal, not '\(text)'")
            }
        }
        if let retention = keys("retention") { agent.retention = decodeRetention(retention, context: context) }
        keys.finish()
        return agent
    }

    private static func decodeRetention(_ node: YAMLNode, context: DecodeContext) -> RetentionConfig {
        var retention = RetentionConfig()
        guard var keys = MappingReader(node, "agent.retention", context: context) else { return retention }
        func duration(_ key: String) -> Duration? {
            guard let value = keys(key), let duration = context.duration(value, "agent.retention.\(key)") else { return nil }
            guard duration >= .seconds(1) else {
                context.error(value.location, "'agent.retention.\(key)' must be at least 1s", hint: "write for example 30d")
                return nil
            }
            return duration
        }
        retention.runs = duration("runs")
        retention.logs = duration("logs")
        retention.done = duration("done")
        keys.finish()
        return retention
    }

    private static func decodeAPI(_ node: YAMLNode, context: DecodeContext) -> APISection {
        var api = APISection()
        guard var keys = MappingReader(node, "api", context: context) else { return api }
        if let socket = keys("socket") { api.socket = path(socket, "api.socket", context: context) }
        if let group = keys("group") { api.group = context.name(group, "api.group", pattern: .label) }
        if let publicRead = keys("public_read") { api.publicRead = context.bool(publicRead, "api.public_read") }
        if let runAs = keys("run_as") { api.runAs = decodeRunAs(runAs, context: context) }
        if let admins = keys("admins") { api.admins = decodePrincipals(admins, "api.admins", context: context) }
        let listen = keys("listen")
        if let listen, let text = context.string(listen, "api.listen") {
            switch ConsoleAddress.parse(text) {
            case .success(let address): api.listen = address
            case .failure(let refusal): context.error(listen.location, "'api.listen': \(refusal.message)", hint: refusal.hint)
            }
        }
        let tls = keys("tls")
        if let tls { api.tls = decodeTLS(tls, context: context) }
        if let listen, let address = api.listen, !address.isLoopback, api.tls == nil {
            context.error(listen.location, "'api.listen': \(address.host) is not a loopback address, and the console would serve it without TLS",
                          hint: "add api.tls: { cert: FILE, key: FILE }, or keep 127.0.0.1 and reach it through `ssh -L PORT:127.0.0.1:PORT HOST`")
        }
        if let tls, api.listen == nil, listen == nil {
            context.error(tls.location, "'api.tls' is for the console, and api.listen is not set", hint: "add api.listen: ADDRESS:PORT")
        }
        keys.finish()
        return api
    }

    /// `api.run_as: [USER, ...]` or `{ users: [...], groups: [...], secrets: [DIR, ...] }`.
    private static func decodeRunAs(_ node: YAMLNode, context: DecodeContext) -> RunAsConfig {
        guard case .mapping = node.kind else {
            return RunAsConfig(users: names(node, "api.run_as", context: context))
        }
        var runAs = RunAsConfig()
        guard var keys = MappingReader(node, "api.run_as", context: context) else { return runAs }
        if let users = keys("users") { runAs.users = names(users, "api.run_as.users", context: context) }
        if let groups = keys("groups") { runAs.groups = names(groups, "api.run_as.groups", context: context) }
        if let secrets = keys("secrets") {
            for (directory, location) in context.stringList(secrets, "api.run_as.secrets") {
                guard directory.hasPrefix("/"), !directory.contains("\0"), !directory.split(separator: "/").contains("..") else {
                    context.error(location, "'api.run_as.secrets' lists absolute directories without '..', not '\(directory)'",
                                  hint: "for example secrets: [/etc/atomd/secrets/deploy]")
                    continue
                }
                runAs.secrets.append(directory)
            }
        }
        keys.finish()
        return runAs
    }

    /// `api.admins: [USER, ...]` or `{ users: [...], groups: [...] }`.
    private static func decodePrincipals(_ node: YAMLNode, _ field: String, context: DecodeContext) -> Principals {
        guard case .mapping = node.kind else { return Principals(users: names(node, field, context: context)) }
        var principals = Principals()
        guard var keys = MappingReader(node, field, context: context) else { return principals }
        if let users = keys("users") { principals.users = names(users, field + ".users", context: context) }
        if let groups = keys("groups") { principals.groups = names(groups, field + ".groups", context: context) }
        keys.finish()
        return principals
    }

    /// User or group names: what `useradd` accepts, nothing a lookup could misread.
    private static func names(_ node: YAMLNode, _ field: String, context: DecodeContext) -> [String] {
        guard case .sequence(let items) = node.kind else {
            context.error(node.location, "'\(field)' must be a list of names, not \(node.kindName)", hint: "for example [deploy]")
            return []
        }
        return items.compactMap { context.name($0, field, pattern: .label) }
    }

    /// `journal: { postgres: { url, password_file, tls, ca, outage, allow_async } }`.
    private static func decodeJournal(_ node: YAMLNode, context: DecodeContext) -> JournalConfig {
        var journal = JournalConfig()
        guard var keys = MappingReader(node, "journal", context: context) else { return journal }
        if let postgres = keys("postgres") { journal.postgres = decodePostgres(postgres, context: context) }
        keys.finish()
        return journal
    }

    private static func decodePostgres(_ node: YAMLNode, context: DecodeContext) -> PostgresJournalConfig? {
        guard var keys = MappingReader(node, "journal.postgres", context: context) else { return nil }
        var url: PostgresURL?
        let urlNode = keys("url")
        if let urlNode, let text = context.string(urlNode, "journal.postgres.url") {
            switch PostgresURL.parse(text) {
            case .success(let parsed): url = parsed
            case .failure(let refusal): context.error(urlNode.location, "'journal.postgres.url': \(refusal.message)", hint: refusal.hint)
            }
        }
        let passwordFile = keys("password_file").flatMap { absolutePath($0, "journal.postgres.password_file", context: context) }
        var tls: PostgresJournalConfig.TLSMode?
        if let tlsNode = keys("tls"), let text = context.string(tlsNode, "journal.postgres.tls") {
            tls = PostgresJournalConfig.TLSMode(rawValue: text)
            if tls == nil {
                context.error(tlsNode.location, "'journal.postgres.tls' must be verify-full, require or disable, not '\(text)'")
            }
        }
        let ca = keys("ca").flatMap { absolutePath($0, "journal.postgres.ca", context: context) }
        var outage = PostgresJournalConfig.defaultOutage
        if let outageNode = keys("outage"), let given = context.duration(outageNode, "journal.postgres.outage") {
            if given >= .seconds(1), given <= .seconds(86_400) {
                outage = given
            } else {
                context.error(outageNode.location, "'journal.postgres.outage' must be from 1s to 24h", hint: "the default is 60s")
            }
        }
        let allowAsync = keys("allow_async").flatMap { context.bool($0, "journal.postgres.allow_async") } ?? false
        keys.finish()
        guard urlNode != nil else {
            context.error(node.location, "'journal.postgres' needs url", hint: "url: postgresql://atomd@db.example/atomd")
            return nil
        }
        guard let url else { return nil }
        if let tls, tls != .disable, url.socketDirectory != nil {
            context.error(node.location, "'journal.postgres.tls: \(tls.rawValue)' is for a TCP connection, and the URL names a Unix socket",
                          hint: "leave tls out for a socket")
            return nil
        }
        return PostgresJournalConfig(url: url, passwordFile: passwordFile, tls: tls, ca: ca, outage: outage, allowAsync: allowAsync)
    }

    /// An absolute path without NUL or `..`: a secret's file is never found relative to a working directory.
    private static func absolutePath(_ node: YAMLNode, _ field: String, context: DecodeContext) -> String? {
        guard let text = path(node, field, context: context) else { return nil }
        guard text.hasPrefix("/"), !text.split(separator: "/").contains("..") else {
            context.error(node.location, "'\(field)' must be an absolute path without '..', not '\(text)'")
            return nil
        }
        return text
    }

    /// `api.tls: { cert: FILE, key: FILE }`, both required.
    private static func decodeTLS(_ node: YAMLNode, context: DecodeContext) -> ConsoleTLS? {
        guard var keys = MappingReader(node, "api.tls", context: context) else { return nil }
        let certificate = keys("cert").flatMap { path($0, "api.tls.cert", context: context) }
        let key = keys("key").flatMap { path($0, "api.tls.key", context: context) }
        let hasCertificate = keys.has("cert"), hasKey = keys.has("key")
        keys.finish()
        guard hasCertificate, hasKey else {
            context.error(node.location, "'api.tls' needs both cert and key", hint: "api.tls: { cert: /etc/atomd/console.pem, key: /etc/atomd/console.key }")
            return nil
        }
        return certificate.flatMap { certificate in key.map { ConsoleTLS(certificate: certificate, key: $0) } }
    }

    /// A non-empty path without NUL.
    private static func path(_ node: YAMLNode, _ field: String, context: DecodeContext) -> String? {
        guard let text = context.string(node, field) else { return nil }
        guard !text.isEmpty, !text.contains("\0") else {
            context.error(node.location, "'\(field)' must be a path")
            return nil
        }
        return text
    }

    private static func decodePlugins(_ node: YAMLNode, context: DecodeContext) -> PluginConfig {
        var plugins = PluginConfig()
        guard var keys = MappingReader(node, "plugins", context: context) else { return plugins }
        if let directories = keys("directories") {
            plugins.directories = context.stringList(directories, "plugins.directories").map(\.0)
        }
        if let isolation = keys("isolation") {
            if case .mapping(let pairs) = isolation.kind {
                for pair in pairs {
                    guard let mode = context.string(pair.value, "plugins.isolation.\(pair.key.scalarText)") else { continue }
                    switch mode {
                    case "in-process": plugins.inProcess.insert(pair.key.scalarText)
                    case "isolated": break
                    default:
                        context.error(pair.value.location, "isolation of '\(pair.key.scalarText)' must be isolated or in-process, not '\(mode)'")
                    }
                }
            } else {
                context.error(isolation.location, "'plugins.isolation' must map plugin names to isolated or in-process",
                              hint: "for example isolation: { kv: in-process }")
            }
        }
        if let allow = keys("allow_sha256") {
            var digests: Set<String> = []
            for (digest, location) in context.stringList(allow, "plugins.allow_sha256") {
                let lower = digest.lowercased()
                guard lower.count == 64, lower.allSatisfy(\.isHexDigit) else {
                    context.error(location, "'\(digest)' is not a SHA-256 digest", hint: "64 hex digits, as sha256sum prints them")
                    continue
                }
                digests.insert(lower)
            }
            plugins.allowSHA256 = digests
        }
        if let timeout = keys("call_timeout") { plugins.callTimeout = context.duration(timeout, "plugins.call_timeout") }
        if let grace = keys("cancel_grace") { plugins.cancelGrace = context.duration(grace, "plugins.cancel_grace") }
        if let limit = keys("memory_limit") { plugins.memoryLimit = memorySize(limit, context: context) }
        if let idle = keys("idle_hosts") { plugins.idleHosts = context.integer(idle, "plugins.idle_hosts", range: 0...64) }
        keys.finish()
        return plugins
    }

    /// `512MiB`, `1GiB`, or `unlimited` (0).
    private static func memorySize(_ node: YAMLNode, context: DecodeContext) -> Int? {
        if case .scalar(let scalar) = node.kind, scalar.text == "unlimited" { return 0 }
        return context.size(node, "plugins.memory_limit", minimum: 16 << 20)
    }
}
