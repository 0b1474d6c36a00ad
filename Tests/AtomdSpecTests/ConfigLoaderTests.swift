import Foundation
import Testing
@testable import AtomdSpec

/// `atomd.yaml`: every key read as typed, every mistake refused with its place.
@Suite struct ConfigLoaderTests {
    func config(_ yaml: String) throws(SpecErrors) -> AgentConfig {
        try ConfigLoader.load(bytes: Array(yaml.utf8), file: "atomd.yaml")
    }

    func problems(_ yaml: String) -> [Diagnostic] {
        do {
            _ = try config(yaml)
            Issue.record("accepted: \(yaml)")
            return []
        } catch {
            return error.diagnostics
        }
    }

    @Test func runAsAndAdminsTakeAListOrTheirLongForm() throws {
        let short = try config("api:\n  run_as: [deploy, www-data]\n  admins: [alice]\n").api
        #expect(short.runAs == RunAsConfig(users: ["deploy", "www-data"]))
        #expect(short.admins == Principals(users: ["alice"]))
        let long = try config("""
            api:
              run_as: { users: [deploy], groups: [www-data], secrets: [/etc/atomd/secrets/deploy] }
              admins: { users: [alice], groups: [ops] }
            """).api
        #expect(long.runAs == RunAsConfig(users: ["deploy"], groups: ["www-data"], secrets: ["/etc/atomd/secrets/deploy"]))
        #expect(long.admins == Principals(users: ["alice"], groups: ["ops"]))
        let refused = problems("""
            api:
              run_as: { users: deploy, groups: ["a b"], secrets: [relative, /x/../etc], users2: [] }
              admins: root
            """).map(\.description)
        for part in ["2:20: error: 'api.run_as.users' must be a list of names", "'a b' is not valid", "not 'relative'", "not '/x/../etc'",
                     "unknown key 'users2'", "3:11: error: 'api.admins' must be a list of names"] {
            #expect(refused.contains { $0.contains(part) }, "\(part): \(refused)")
        }
    }

    @Test func theJournalInPostgreSQLIsReadWithItsDefaults() throws {
        let full = try #require(try config("""
            journal:
              postgres:
                url: postgresql://atomd@db.example:6432/atomd
                password_file: /etc/atomd/pgpass
                tls: require
                ca: /etc/atomd/db-ca.pem
                outage: 5m
                allow_async: true
            """).journal.postgres)
        #expect(full.url == PostgresURL(user: "atomd", host: "db.example", port: 6432, database: "atomd"))
        #expect(full.passwordFile == "/etc/atomd/pgpass" && full.ca == "/etc/atomd/db-ca.pem")
        #expect(full.tls == .require && full.outage == .seconds(300) && full.allowAsync)
        let tcp = try #require(try config("journal: { postgres: { url: 'postgres://atomd@10.0.0.5/jobs' } }").journal.postgres)
        #expect(tcp.tls == .verifyFull && tcp.outage == .seconds(60) && !tcp.allowAsync && tcp.passwordFile == nil)
        let socket = try #require(try config("journal: { postgres: { url: 'postgresql://atomd@%2Frun%2Fpostgresql/atomd' } }").journal.postgres)
        #expect(socket.url.socketDirectory == "/run/postgresql" && socket.url.host == nil && socket.tls == .disable)
        #expect(try config("agent: { max_runs: 2 }").journal.postgres == nil, "SQLite by default")
    }

    @Test func aJournalConfigurationThatCannotWorkIsRefusedWithItsPlace() {
        let refused = problems("""
            journal:
              postgres:
                url: postgresql://atomd:hunter2@db.example/atomd
                password_file: pgpass
                tls: prefer
                outage: 0s
                allow_async: maybe
                pool: 4
            """).map(\.description)
        for part in ["3:10: error: 'journal.postgres.url': the URL holds a password", "remove it from the URL",
                     "'journal.postgres.password_file' must be an absolute path", "'journal.postgres.tls' must be verify-full, require or disable",
                     "'journal.postgres.outage' must be from 1s to 24h", "allow_async", "unknown key 'pool'"] {
            #expect(refused.contains { $0.contains(part) }, "\(part): \(refused)")
        }
        #expect(!refused.joined().contains("hunter2"), "a password is never repeated in a message")
        let noURL = problems("journal: { postgres: { tls: disable } }").map(\.description)
        #expect(noURL.contains { $0.contains("'journal.postgres' needs url") }, "\(noURL)")
        let socketTLS = problems("journal: { postgres: { url: 'postgresql://a@%2Frun%2Fpg/db', tls: verify-full } }").map(\.description)
        #expect(socketTLS.contains { $0.contains("is for a TCP connection") }, "\(socketTLS)")
    }

    @Test(arguments: [
        ("postgresql://atomd@db/atomd?sslmode=disable", "'sslmode' is not one atomd reads"),
        ("postgresql://atomd@db:99999/atomd", "is not from 1 to 65535"),
        ("postgresql://@db/atomd", "names no user"),
        ("postgresql://atomd@db/", "names no database"),
        ("postgresql://atomd@db/a/b", "names no database"),
        ("mysql://atomd@db/atomd", "is not a postgresql:// URL"),
        ("postgresql://atomd@/atomd", "names no host"),
        ("postgresql://atomd@db/atomd?host=relative", "is not an absolute path"),
        ("postgresql://atomd@db/atomd?port=0", "from 1 to 65535"),
        ("postgresql://atomd%3Ahunter2@db/atomd", "holds ':' or '@'"),
        ("host=db password=hunter2 dbname=atomd", "is not a postgresql:// URL"),
    ])
    func aURLThatCannotBeUsedSaysWhy(_ text: String, _ expected: String) {
        switch PostgresURL.parse(text) {
        case .success(let url): Issue.record("accepted \(text) as \(url)")
        case .failure(let refusal):
            #expect(refusal.message.contains(expected) || refusal.hint.contains(expected), "\(text): \(refusal.message)")
            #expect(!refusal.message.contains("hunter2"), "a password is never repeated")
        }
    }

    @Test func aURLIsReadInEveryForm() throws {
        func parse(_ text: String) throws -> PostgresURL {
            guard case .success(let url) = PostgresURL.parse(text) else { throw SpecErrors([]) }
            return url
        }
        #expect(try parse("postgresql://atomd@[::1]:5433/atomd") == PostgresURL(user: "atomd", host: "::1", port: 5433, database: "atomd"))
        #expect(try parse("postgresql://atomd@db/atomd?host=/tmp/pg&port=6000").socketDirectory == "/tmp/pg")
        #expect(try parse("postgresql://atomd@db/atomd?host=/tmp/pg&port=6000").port == 6000)
        // What messages print never holds a password, and reads back the same.
        let socket = try parse("postgresql://atomd@%2Ftmp%2Fpg:6000/atomd")
        #expect(socket.description == "postgresql://atomd@%2Ftmp%2Fpg:6000/atomd")
        #expect(try parse(socket.description) == socket)
        #expect(try parse("postgresql://atomd@[::1]:5433/atomd").description == "postgresql://atomd@[::1]:5433/atomd")
    }

    @Test func everyPluginKeyIsRead() throws {
        let digest = String(repeating: "aB", count: 32)
        let loaded = try config("""
            plugins:
              directories: [plugins, /usr/lib/atomd/plugins]
              isolation: { kv: in-process, files: isolated }
              allow_sha256: [\(digest)]
              call_timeout: 2m
              cancel_grace: 500ms
              memory_limit: 512MiB
              idle_hosts: 4
            """)
        let plugins = loaded.plugins
        #expect(loaded.file == "atomd.yaml")
        #expect(plugins.directories == ["plugins", "/usr/lib/atomd/plugins"])
        #expect(plugins.inProcess == ["kv"])
        #expect(plugins.allowSHA256 == [digest.lowercased()])
        #expect(plugins.callTimeout == .seconds(120))
        #expect(plugins.cancelGrace == .milliseconds(500))
        #expect(plugins.memoryLimit == 512 << 20)
        #expect(plugins.idleHosts == 4)
    }

    @Test func everyAgentAndAPIKeyIsRead() throws {
        let loaded = try config("""
            agent: { spool: /var/spool/atomd, logs: runs, max_runs: 8, stop_timeout: 2m, journal_sync: normal }
            api: { socket: /run/atomd/atomd.sock, group: atomd, public_read: true }
            """)
        #expect(loaded.agent.spool == "/var/spool/atomd")
        #expect(loaded.agent.logs == "runs")
        #expect(loaded.agent.maxRuns == 8)
        #expect(loaded.agent.stopTimeout == .seconds(120))
        #expect(loaded.agent.journalSync == "normal")
        #expect(loaded.api.socket == "/run/atomd/atomd.sock")
        #expect(loaded.api.group == "atomd")
        #expect(loaded.api.publicRead == true)
    }

    @Test func badAgentValuesAreRefusedWhereTheyAre() {
        #expect(problems("agent:\n  max_runs: 0\n").first?.location == SourceLocation(line: 2, column: 13))
        #expect(problems("agent: { journal_sync: off }").first?.message == "'agent.journal_sync' must be full or normal, not 'off'")
        #expect(problems("agent: { spool: \"\" }").first?.message == "'agent.spool' must be a path")
        #expect(problems("api: { group: \"a b\" }").first?.message.contains("api.group 'a b' is not valid") == true)
        #expect(problems("api: { public_read: maybe }").count == 1)
        #expect(problems("api:\n  sockets: x\n").first?.hint?.contains("socket") == true)
    }

    /// The shipped configuration (a system install's) documents every key:
    /// it must load, with the system paths and the default numbers.
    @Test func theShippedConfigurationLoads() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("etc/atomd.yaml").path
        let loaded = try ConfigLoader.load(path: path)
        #expect(loaded.agent.spool == "/var/spool/atomd")
        #expect(loaded.api.socket == "/run/atomd/atomd.sock")
        #expect(loaded.plugins.directories == ["/usr/lib/atomd/plugins"])
        #expect(loaded.agent.maxRuns == 4)
        #expect(loaded.agent.stopTimeout == .seconds(60))
        #expect(loaded.agent.journalSync == "full")
        #expect(loaded.api.publicRead == false)
        #expect(loaded.plugins.callTimeout == .seconds(600))
        #expect(loaded.plugins.idleHosts == 2)
    }

    @Test func anEmptyFileKeepsEveryDefault() throws {
        #expect(try config("") == AgentConfig(file: "atomd.yaml"))
        #expect(try config("# nothing set yet\n\n") == AgentConfig(file: "atomd.yaml"))
        #expect(try config("plugins: { memory_limit: unlimited }").plugins.memoryLimit == 0)
    }

    @Test func unknownKeysAreRefusedWithAHint() {
        let found = problems("plugins:\n  directorys: [x]\n")
        #expect(found.count == 1)
        #expect(found.first?.location == SourceLocation(line: 2, column: 3))
        #expect(found.first?.hint?.contains("directories") == true)
        #expect(problems("plugin: {}\n").first?.hint?.contains("plugins") == true)
    }

    @Test func badValuesAreRefusedWhereTheyAre() {
        let isolation = problems("plugins:\n  isolation: { kv: sandboxed }\n")
        #expect(isolation.first?.message == "isolation of 'kv' must be isolated or in-process, not 'sandboxed'")
        #expect(isolation.first?.location == SourceLocation(line: 2, column: 20))

        #expect(problems("plugins: { isolation: in-process }").first?.hint == "for example isolation: { kv: in-process }")

        let digest = problems("plugins:\n  allow_sha256:\n    - abc\n")
        #expect(digest.first?.message == "'abc' is not a SHA-256 digest")
        #expect(digest.first?.location == SourceLocation(line: 3, column: 7))

        for size in ["512", "1MiB", "0GiB", "-1GiB", "lots", "99999999999GiB"] {
            let found = problems("plugins: { memory_limit: \(size) }")
            #expect(found.first?.message.contains("at least 16MiB") == true, "\(size)")
        }
        #expect(problems("plugins: { call_timeout: 30 }").first?.hint == "write 30s, 30m or 30ms")
        #expect(problems("plugins: { idle_hosts: 1000 }").first?.message.contains("between 0 and 64") == true)
    }

    @Test func everyMistakeIsReportedAtOnce() {
        let found = problems("plugins:\n  idle_hosts: x\n  cancel_grace: soon\n  extra: 1\n")
        #expect(found.map(\.location.line) == [2, 3, 4])
    }

    @Test func hostileFilesAreRefused() {
        #expect(problems("plugins: [a, b]").first?.message.contains("plugins") == true)
        #expect(!problems("plugins: &a { directories: *a }").isEmpty)
        #expect(!problems("\u{0}\u{1}binary").isEmpty)
        let huge = "plugins:\n  directories:\n" + String(repeating: "    - " + String(repeating: "d", count: 100) + "\n", count: 200_000)
        #expect(problems(huge).first?.message.contains("limited to 1048576 bytes") == true)
    }

    @Test func aMissingFileNamesThePath() {
        do {
            _ = try ConfigLoader.load(path: "/nonexistent/atomd.yaml")
            Issue.record("a missing file loaded")
        } catch {
            #expect(error.description.contains("/nonexistent/atomd.yaml"))
        }
    }
}

/// `api.listen`: the console's address, loopback only, checked where it is written.
@Suite struct ConsoleListenConfigTests {
    let loader = ConfigLoaderTests()

    @Test func loopbackAddressesAreRead() throws {
        #expect(try loader.config("api: { listen: 127.0.0.1:8470 }").api.listen == ConsoleAddress(host: "127.0.0.1", port: 8470))
        #expect(try loader.config("api: { listen: \"[::1]:9000\" }").api.listen == ConsoleAddress(host: "::1", port: 9000))
        #expect(try loader.config("api: { listen: localhost:0 }").api.listen == ConsoleAddress(host: "127.0.0.1", port: 0))
        #expect(try loader.config("api: {}").api.listen == nil)
        #expect(ConsoleAddress(host: "::1", port: 9000).description == "[::1]:9000")
    }

    @Test func otherAddressesAndMalformedOnesAreRefusedAtTheirPlace() {
        let cases: [(String, String)] = [
            ("0.0.0.0:8470", "0.0.0.0 is not a loopback address, and the console would serve it without TLS"),
            ("192.168.1.5:8470", "not a loopback address"),
            ("\"[::]:8470\"", ":: is not a loopback address"),
            ("example.com:8470", "'example.com' is not an IP address"),
            ("127.0.0.1.5:8470", "is not an IP address"),
            ("127.0.0.1", "is not HOST:PORT"),
            ("127.0.0.1:65536", "is not a number from 0 to 65535"),
            ("127.0.0.1:-1", "is not a number from 0 to 65535"),
            ("127.0.0.1:８０", "is not a number from 0 to 65535"),
            ("\"[::1\"", "is not HOST:PORT"),
            ("127.0.0.1:" + String(repeating: "9", count: 5000), "is not a number from 0 to 65535"),
            ("[8470]", "must be"),
        ]
        for (value, expected) in cases {
            let found = loader.problems("api:\n  listen: \(value)\n")
            #expect(found.count == 1 && found[0].message.contains(expected), "\(value): \(found.map(\.message))")
            #expect(found.first?.location.line == 2 && found.first?.location.column == 11, "\(value): \(found.map(\.location))")
        }
        let remote = loader.problems("api:\n  listen: 10.0.0.1:8470\n")
        #expect(remote.first?.hint?.contains("ssh -L") == true && remote.first?.hint?.contains("api.tls") == true)
    }

    @Test func otherAddressesNeedTLSWithBothFiles() throws {
        let served = try loader.config("api:\n  listen: 0.0.0.0:8443\n  tls: { cert: console.pem, key: /etc/atomd/console.key }\n").api
        #expect(served.listen == ConsoleAddress(host: "0.0.0.0", port: 8443) && served.listen?.isUnspecified == true)
        #expect(served.tls == ConsoleTLS(certificate: "console.pem", key: "/etc/atomd/console.key"))
        #expect(try loader.config("api: { listen: 127.0.0.2:1 }").api.listen?.isLoopback == true)
        let refusals: [(String, String, Int)] = [
            ("api:\n  listen: 0.0.0.0:8443\n  tls: { cert: console.pem }\n", "'api.tls' needs both cert and key", 3),
            ("api:\n  tls: { cert: a.pem, key: a.key }\n", "api.listen is not set", 2),
            ("api:\n  listen: 127.0.0.1:1\n  tls: { cert: a.pem, key: a.key, ca: b.pem }\n", "unknown key 'ca'", 3),
            ("api:\n  listen: 127.0.0.1:1\n  tls: { cert: \"\", key: a.key }\n", "'api.tls.cert' must be a path", 3),
        ]
        for (yaml, expected, line) in refusals {
            let found = loader.problems(yaml)
            #expect(found.contains { $0.message.contains(expected) && $0.location.line == line }, "\(yaml): \(found.map { "\($0.location.line): \($0.message)" })")
        }
    }
}
