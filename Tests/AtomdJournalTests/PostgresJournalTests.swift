import AtomdEngine
@testable import AtomdJournal
@testable import AtomdJournalPostgres
import AtomdSpec
import AtomdTestSupport
import Foundation
import Testing

/// What only the PostgreSQL journal has to get right: whom it trusts, what
/// server it accepts, who owns it, and the schema it shares with others.
@Suite(.timeLimit(.minutes(2))) struct PostgresJournalTests {
    private func settings(_ url: String, configure: (inout PostgresJournalConfig) -> Void = { _ in }) throws -> PostgresSettings {
        guard case .success(let parsed) = PostgresURL.parse(url) else { throw PostgresCluster.Failure("\(url) does not parse") }
        var config = PostgresJournalConfig(url: parsed)
        configure(&config)
        return PostgresSettings(config)
    }

    private func fresh() async throws -> (PostgresCluster, String, PostgresSettings) {
        let cluster = try await PostgresCluster.shared()
        let database = try await cluster.createDatabase()
        return (cluster, database, try settings(cluster.socketURL(database)))
    }

    /// A server that confirms commits before they are on disk would let a
    /// run act on a record a crash then loses.
    @Test func aServerWithoutDurableCommitsIsRefusedUnlessAllowed() async throws {
        let (cluster, database, _) = try await fresh()
        try await cluster.psql("ALTER DATABASE \(database) SET synchronous_commit = off", database: "postgres")
        let refused = await #expect(throws: JournalError.self) { try await PostgresJournal.open(try settings(cluster.socketURL(database))) }
        #expect(refused?.description.contains("synchronous_commit = off") == true, "\(refused?.description ?? "")")
        #expect(refused?.description.contains("allow_async") == true)
        let tables = try await cluster.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'atomd'", database: database)
        #expect(tables.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "nothing was made in a refused database")
        let accepted = try await PostgresJournal.open(try settings(cluster.socketURL(database)) { $0.allowAsync = true })
        await accepted.close()
    }

    /// Agents starting at once on a new database make the schema once.
    @Test func journalsOpenedTogetherMigrateOnce() async throws {
        let (cluster, database, settings) = try await fresh()
        let journals = try await withThrowingTaskGroup(of: PostgresJournal.self) { group in
            for _ in 0..<6 { group.addTask { try await PostgresJournal.open(settings) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(journals.count == 6)
        let applied = try await cluster.psql("SELECT string_agg(name, ',') FROM atomd.migrations", database: database)
        #expect(applied.trimmingCharacters(in: .whitespacesAndNewlines) == PostgresSchema.migrations.map(\.name).joined(separator: ","))
        for journal in journals { await journal.close() }
    }

    @Test func aSchemaFromANewerAtomdIsRefused() async throws {
        let (cluster, database, settings) = try await fresh()
        await try PostgresJournal.open(settings).close()
        try await cluster.psql("INSERT INTO atomd.migrations (name) VALUES ('v99')", database: database)
        let refused = await #expect(throws: JournalError.self) { try await PostgresJournal.open(settings) }
        #expect(refused?.description.contains("newer atomd") == true, "\(refused?.description ?? "")")
    }

    /// A schema named atomd that another program made is not ours to add to.
    @Test func anotherProgramsSchemaIsRefusedAndLeftAlone() async throws {
        let (cluster, database, settings) = try await fresh()
        try await cluster.psql("CREATE SCHEMA atomd; CREATE TABLE atomd.accounts (id int); INSERT INTO atomd.accounts VALUES (7)", database: database)
        let refused = await #expect(throws: JournalError.self) { try await PostgresJournal.open(settings) }
        #expect(refused?.description.contains("not an atomd journal") == true, "\(refused?.description ?? "")")
        let left = try await cluster.psql("SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = 'atomd'", database: database)
        #expect(left.trimmingCharacters(in: .whitespacesAndNewlines) == "accounts")
    }

    /// Another role that may create in atomd's database made the schema
    /// first, or was granted a way in: whatever it put there would run as
    /// atomd's role in every write, and could rewrite the job a resumed run
    /// runs. Refused, naming what is not atomd's, and left alone.
    @Test func aSchemaAnotherRoleOwnsOrMayChangeIsRefused() async throws {
        let (cluster, database, settings) = try await fresh()
        let role = "mallory_\(database)"
        try await cluster.psql("CREATE ROLE \(role) LOGIN; GRANT CREATE ON DATABASE \(database) TO \(role)", database: "postgres")
        try await cluster.psql("CREATE SCHEMA atomd; GRANT ALL ON SCHEMA atomd TO PUBLIC", database: database, user: role)
        let foreign = await #expect(throws: JournalError.self) { try await PostgresJournal.open(settings) }
        #expect(foreign?.description.contains("schema atomd (owned by \(role))") == true, "\(foreign?.description ?? "")")
        let tables = try await cluster.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'atomd'", database: database)
        #expect(tables.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "nothing made in it")

        // atomd's own schema, with a privilege granted to another role later.
        let (_, second, secondSettings) = try await fresh()
        await try PostgresJournal.open(secondSettings).close()
        try await cluster.psql("GRANT INSERT ON atomd.runs TO \(role)", database: second)
        let granted = await #expect(throws: JournalError.self) { try await PostgresJournal.open(secondSettings) }
        #expect(granted?.description.contains("table atomd.runs (granted to others)") == true, "\(granted?.description ?? "")")
        try await cluster.psql("REVOKE INSERT ON atomd.runs FROM \(role)", database: second)
        await try PostgresJournal.open(secondSettings).close()
        // A column's privilege, and atomd's role granted to another: each a way in.
        try await cluster.psql("GRANT UPDATE (job_text) ON atomd.runs TO \(role)", database: second)
        let column = await #expect(throws: JournalError.self) { try await PostgresJournal.open(secondSettings) }
        #expect(column?.description.contains("column atomd.runs.job_text (granted to others)") == true, "\(column?.description ?? "")")
        try await cluster.psql("REVOKE UPDATE (job_text) ON atomd.runs FROM \(role)", database: second)
        // atomd as a role of its own (not a superuser), owning its database.
        let owner = "owner_\(second)", member = "member_\(second)", own = second + "_own"
        try await cluster.psql("CREATE ROLE \(owner) LOGIN; CREATE ROLE \(member) LOGIN", database: "postgres")
        try await cluster.psql("CREATE DATABASE \(own) OWNER \(owner)", database: "postgres")
        let ownSettings = try self.settings(cluster.socketURL(own).replacingOccurrences(of: "postgresql://atomd@", with: "postgresql://\(owner)@"))
        await try PostgresJournal.open(ownSettings).close()
        try await cluster.psql("GRANT \(owner) TO \(member)", database: "postgres")
        let granted2 = await #expect(throws: JournalError.self) { try await PostgresJournal.open(ownSettings) }
        #expect(granted2?.description.contains("role \(owner) (granted to \(member))") == true, "\(granted2?.description ?? "")")
    }

    /// One agent owns a journal; commands share it only while no agent does.
    /// The refusal names the holder.
    @Test func oneAgentOwnsAJournalAndTheRefusalSaysWho() async throws {
        let (_, _, base) = try await fresh()
        var first = base
        first.applicationName = "atomd agent, pid 4242 on host-a"
        let agent = try await PostgresJournal.open(first)
        try await agent.claim(as: .agent)
        let other = try await PostgresJournal.open(base)
        let second = await #expect(throws: JournalError.self) { try await other.claim(as: .agent) }
        #expect(second?.description.contains("in use by atomd agent, pid 4242 on host-a") == true, "\(second?.description ?? "")")
        let command = await #expect(throws: JournalError.self) { try await other.claim(as: .command) }
        #expect(command?.description.contains("owned by atomd agent, pid 4242") == true, "\(command?.description ?? "")")
        await agent.close()
        // Freed with its connection; commands then share it, and keep an agent out.
        try await other.claim(as: .command)
        let beside = try await PostgresJournal.open(base)
        try await beside.claim(as: .command)
        let late = try await PostgresJournal.open(base)
        await #expect(throws: JournalError.self) { try await late.claim(as: .agent) }
        for journal in [other, beside, late] { await journal.close() }
    }

    /// Over TCP: the password only from a file of its owner's, TLS checked
    /// against the CA given.
    @Test func overTCPThePasswordFileAndTheCertificateAreChecked() async throws {
        let (cluster, database, _) = try await fresh()
        let secrets = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-pgpass-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: secrets, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: secrets) }
        let passwordFile = secrets + "/pgpass"
        #expect(FileManager.default.createFile(atPath: passwordFile, contents: Data((cluster.password + "\n").utf8),
                                               attributes: [.posixPermissions: 0o644]))
        let url = cluster.tcpURL(database)
        func open(_ configure: @escaping (inout PostgresJournalConfig) -> Void) async throws -> PostgresJournal {
            try await PostgresJournal.open(try settings(url, configure: configure))
        }
        let readable = await #expect(throws: JournalError.self) { try await open { $0.passwordFile = passwordFile; $0.ca = cluster.caFile } }
        #expect(readable?.description.contains("may be read by other users") == true, "\(readable?.description ?? "")")
        #expect(readable?.description.contains(cluster.password) == false)
        chmod(passwordFile, 0o600)
        symlink(passwordFile, secrets + "/link")
        await #expect(throws: JournalError.self) { try await open { $0.passwordFile = secrets + "/link"; $0.ca = cluster.caFile } }

        let journal = try await open { $0.passwordFile = passwordFile; $0.ca = cluster.caFile }
        try await journal.createRun(NewRun(id: "tls", jobName: "j", jobFile: "j.yaml", jobText: "x", vars: [:]))
        #expect(try await journal.run("tls") != nil)
        // The journal's connections came over TCP, every one encrypted.
        let ssl = try await cluster.psql("""
            SELECT count(*) || '/' || count(*) FILTER (WHERE s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
            WHERE a.datname = '\(database)' AND a.client_addr IS NOT NULL
            """, database: "postgres").trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = ssl.split(separator: "/")
        #expect(parts.count == 2 && parts[0] == parts[1] && parts[0] != "0", "connections/encrypted: \(ssl)")
        await journal.close()

        // The system's CAs do not know the test CA: verify-full refuses the server.
        let unverified = await #expect(throws: JournalError.self) { try await open { $0.passwordFile = passwordFile } }
        #expect(unverified?.description.contains("cannot use the journal") == true, "\(unverified?.description ?? "")")
        let wrong = secrets + "/wrong"
        #expect(FileManager.default.createFile(atPath: wrong, contents: Data("not-it\n".utf8), attributes: [.posixPermissions: 0o600]))
        let refused = await #expect(throws: JournalError.self) { try await open { $0.passwordFile = wrong; $0.ca = cluster.caFile } }
        #expect(refused?.description.contains("password authentication failed") == true, "\(refused?.description ?? "")")
        #expect(refused?.description.contains("not-it") == false, "a password never reaches a message")
    }
}
