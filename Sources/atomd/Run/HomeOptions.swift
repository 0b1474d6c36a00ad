import ArgumentParser
import AtomdJournal
import AtomdJournalPostgres
import AtomdSpec
import Foundation
import Logging

/// `--home` and where its journal is, shared by commands that use the journal.
struct HomeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The atomd home: the journal (journal.sqlite) and step logs (logs/RUN/).", valueName: "dir"))
    var home = "./.atomd"

    @Option(name: .customLong("journal-sync"), help: ArgumentHelp(
        "full: every transition survives power loss (default). normal: faster commits; the last transitions may be lost on power loss, never on a crash of atomd.",
        valueName: "full|normal"))
    var sync: DurableJournal.Durability = .full

    @Option(name: .customLong("journal"), help: ArgumentHelp(
        "A journal in PostgreSQL instead of HOME/journal.sqlite. Without it, journal.postgres of HOME/atomd.yaml is used when set. Never put the password in the URL: see --journal-password-file.",
        valueName: "postgresql://USER@HOST/DB"))
    var journalURL: String?

    @Option(name: .customLong("journal-password-file"), help: ArgumentHelp(
        "With --journal: the password, alone in a file of mode 0600.", valueName: "file"))
    var journalPasswordFile: String?

    @Option(name: .customLong("journal-tls"), help: ArgumentHelp(
        "With --journal over TCP: verify-full (default), require or disable.", valueName: "mode"))
    var journalTLS: PostgresJournalConfig.TLSMode?

    @Option(name: .customLong("journal-ca"), help: ArgumentHelp(
        "With --journal: the CA certificates (PEM) the server's certificate is checked against.", valueName: "file"))
    var journalCA: String?

    /// The journal options as given, for a child atomd that must use the same journal.
    var journalArguments: [String] {
        [("--journal", journalURL), ("--journal-password-file", journalPasswordFile), ("--journal-tls", journalTLS?.rawValue),
         ("--journal-ca", journalCA)].flatMap { name, value in value.map { [name, $0] } ?? [] }
    }

    /// `--journal`, else `journal.postgres` of HOME/atomd.yaml; nil: SQLite.
    func postgres() throws -> PostgresJournalConfig? {
        guard let journalURL else {
            guard journalPasswordFile == nil, journalTLS == nil, journalCA == nil else {
                Output.error("error: --journal-password-file, --journal-tls and --journal-ca go with --journal URL")
                throw AtomdExit.usage.code
            }
            let path = home + "/atomd.yaml"
            guard FileManager.default.fileExists(atPath: path) else { return nil }
            do {
                return try ConfigLoader.load(path: path).journal.postgres
            } catch {
                Output.error(error.description)
                throw AtomdExit.usage.code
            }
        }
        switch PostgresURL.parse(journalURL) {
        case .success(let url):
            for (name, path) in [("--journal-password-file", journalPasswordFile), ("--journal-ca", journalCA)] {
                guard let path, !path.hasPrefix("/") else { continue }
                Output.error("error: \(name) takes an absolute path, not '\(path)'")
                throw AtomdExit.usage.code
            }
            if url.socketDirectory != nil, let journalTLS, journalTLS != .disable {
                Output.error("error: --journal-tls \(journalTLS.rawValue) is for a TCP connection, and the URL names a Unix socket")
                throw AtomdExit.usage.code
            }
            return PostgresJournalConfig(url: url, passwordFile: journalPasswordFile, tls: journalTLS, ca: journalCA)
        case .failure(let refusal):
            Output.error("error: --journal: \(refusal.message) (\(refusal.hint))")
            throw AtomdExit.usage.code
        }
    }

    /// Opens the journal; a journal that cannot be used stops the command
    /// with exit code 4 and is left untouched. Commands that only read
    /// (`creating: false`) create nothing: without a journal there is
    /// nothing to read, and they say so.
    func journal(creating: Bool = true, crashHook: CrashHook? = nil) async throws -> any JournalStore {
        do {
            let crashHook = try crashHook ?? CrashHook.fromEnvironment(ProcessInfo.processInfo.environment)
            if let postgres = try postgres() {
                // The home still holds the step logs and the owner's lock.
                do {
                    try TrustedDirectory.create(home)
                    try TrustedDirectory.check(home)
                } catch {
                    throw JournalError("the atomd home \(error)")
                }
                var settings = PostgresSettings(postgres)
                settings.applicationName = "atomd command, pid \(getpid())"
                var log = Logger(label: "atomd.journal")
                log.logLevel = .warning
                return try await PostgresJournal.open(settings, logger: log, crashHook: crashHook)
            }
            if !creating, !FileManager.default.fileExists(atPath: home + "/journal.sqlite") {
                Output.error("error: no journal in \(home) (nothing has run with --home \(home) yet)")
                throw AtomdExit.usage.code
            }
            // Reading the journal directly is for its owner; everyone else reads
            // through the agent, whose socket applies the access rules.
            var info = stat()
            if !creating, stat(home + "/journal.sqlite", &info) == 0, geteuid() != 0, info.st_uid != geteuid() {
                Output.error("error: the journal in \(home) is not yours to read directly; ask the agent (its socket decides who may read runs)")
                throw AtomdExit.unavailable.code
            }
            return try DurableJournal.open(home: home, durability: sync, crashHook: crashHook)
        } catch let error as JournalError {
            Output.error("error: \(error)")
            throw AtomdExit.unavailable.code
        }
    }
}

extension HomeOptions {
    /// Takes the home, and `journal` when it is shared (PostgreSQL), beside
    /// other commands, or stops with exit code 4 when an agent owns either
    /// (HomeOwnership). Call after `journal()`, which makes the home safely;
    /// keep the result for the command's life.
    func claim(_ journal: any JournalStore) async throws -> HomeOwnership {
        do {
            let ownership = try HomeOwnership.claim(home: home, as: .command)
            try await journal.claim(as: .command)
            return ownership
        } catch {
            Output.error("error: \(error)")
            throw AtomdExit.unavailable.code
        }
    }
}

extension DurableJournal.Durability: ExpressibleByArgument {}
extension PostgresJournalConfig.TLSMode: ExpressibleByArgument {}
