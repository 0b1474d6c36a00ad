import ArgumentParser
import AtomdJournal
import AtomdJournalPostgres
import AtomdSpec
import Foundation
import Logging

struct JournalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal",
        abstract: "Work with the journal itself.",
        subcommands: [JournalCopyCommand.self]
    )
}

struct JournalCopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy a home's history from its SQLite journal into PostgreSQL.",
        discussion: """
            Copies every run of the SQLite journal --from (HOME/journal.sqlite), each with its \
            steps and its whole history, into the PostgreSQL journal --to, in one transaction, \
            then reads every copied run back through both journals and compares them; it \
            prints the counts and a SHA-256 over what both sides agreed on. The step logs stay \
            where they are (HOME/logs/RUN/): `atomd logs` reads them there.

            Nothing is copied while a run is open: those runs belong to their home until they \
            end, and the command names them. Stop the agent of the home first (the copy takes \
            the home as `atomd run` would, and is refused while an agent owns it), and copy \
            before an agent owns the database. A run already in the target with the same \
            content is left as it is, so a copy that was cut off can be run again; one with \
            other content stops the copy.

              atomd journal copy --from /var/lib/atomd/journal.sqlite \\
                  --to postgresql://atomd@db.example/atomd --password-file /etc/atomd/pgpass

            Exit codes: 0 copied and verified; 2 refused (open runs, a conflicting run, bad \
            arguments); 4 a journal cannot be used.
            """
    )

    @Option(help: ArgumentHelp("The SQLite journal to copy from.", valueName: "journal.sqlite"))
    var from: String

    @Option(help: ArgumentHelp("The PostgreSQL journal to copy into.", valueName: "postgresql://USER@HOST/DB"))
    var to: String

    @Option(name: .customLong("password-file"), help: ArgumentHelp("The password for --to, alone in a file of mode 0600.", valueName: "file"))
    var passwordFile: String?

    @Option(help: ArgumentHelp("verify-full (default over TCP), require or disable.", valueName: "mode"))
    var tls: PostgresJournalConfig.TLSMode?

    @Option(help: ArgumentHelp("The CA certificates (PEM) for --tls verify-full.", valueName: "file"))
    var ca: String?

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let url: PostgresURL
        switch PostgresURL.parse(to) {
        case .success(let parsed): url = parsed
        case .failure(let refusal):
            Output.error("error: --to: \(refusal.message) (\(refusal.hint))")
            throw AtomdExit.usage.code
        }
        let home = URL(fileURLWithPath: from).deletingLastPathComponent().path
        let ownership: HomeOwnership
        do {
            ownership = try HomeOwnership.claim(home: home, as: .command)
        } catch {
            Output.error("error: \(error)")
            throw AtomdExit.unavailable.code
        }
        defer { withExtendedLifetime(ownership) {} }
        var log = Logger(label: "atomd.journal")
        log.logLevel = .warning
        let target: PostgresJournal
        do {
            var settings = PostgresSettings(PostgresJournalConfig(url: url, passwordFile: passwordFile, tls: tls, ca: ca))
            settings.applicationName = "atomd journal copy, pid \(getpid())"
            target = try await PostgresJournal.open(settings, logger: log)
            try await target.claim(as: .command)
        } catch {
            Output.error("error: \(error)")
            throw AtomdExit.unavailable.code
        }
        let report: JournalCopy.Report
        do {
            report = try await JournalCopy.copy(from: from, to: target)
        } catch {
            await target.close()
            Output.error("error: \(error)")
            throw error is JournalCopy.Refused ? AtomdExit.usage.code : AtomdExit.unavailable.code
        }
        await target.close()
        if output.json { return try Output.json(report) }
        Output.line("copied \(report.runs) runs (\(report.steps) steps, \(report.events) events) from \(from) to \(url)"
                    + (report.alreadyThere > 0 ? "; \(report.alreadyThere) were already there, identical" : ""))
        Output.line("verified: every copied run reads back the same from both; sha256 \(report.sha256)")
    }
}
