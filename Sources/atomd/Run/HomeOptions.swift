import ArgumentParser
import AtomdJournal
import Foundation

/// `--home` and the journal's durability, shared by commands that use the journal.
struct HomeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The atomd home: the journal (journal.sqlite) and step logs (logs/RUN/).", valueName: "dir"))
    var home = "./.atomd"

    @Option(name: .customLong("journal-sync"), help: ArgumentHelp(
        "full: every transition survives power loss (default). normal: faster commits; the last transitions may be lost on power loss, never on a crash of atomd.",
        valueName: "full|normal"))
    var sync: DurableJournal.Durability = .full

    /// Opens the journal; a journal that cannot be used stops the command
    /// with exit code 4 and is left untouched. Commands that only read
    /// (`creating: false`) create nothing: without a journal there is
    /// nothing to read, and they say so.
    func journal(creating: Bool = true) throws -> any JournalStore {
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
        do {
            let crashHook = try CrashHook.fromEnvironment(ProcessInfo.processInfo.environment)
            return try DurableJournal.open(home: home, durability: sync, crashHook: crashHook)
        } catch {
            Output.error("error: \(error)")
            throw AtomdExit.unavailable.code
        }
    }
}

extension HomeOptions {
    /// Takes the home beside other commands, or stops with exit code 4 when
    /// an agent owns it (HomeOwnership). Call after `journal()`, which makes
    /// the home safely; keep the result for the command's life.
    func claim() throws -> HomeOwnership {
        do {
            return try HomeOwnership.claim(home: home, as: .command)
        } catch {
            Output.error("error: \(error)")
            throw AtomdExit.unavailable.code
        }
    }
}

extension DurableJournal.Durability: ExpressibleByArgument {}
