import AtomdAgent
import AtomdEngine
import AtomdJournal
import AtomdSpec
import Foundation

/// `atomd rehearse --crash`: each rehearsal again in a child `atomd`, killed
/// (SIGKILL, by the journal's crash hook) at every journal write it makes,
/// then recovered here from the journal as `atomd resume` would. Every
/// recovery must end compensated with nothing left behind.
struct RehearsalCrashes {
    let command: RehearseCommand
    let job: Job
    let secrets: [String: String]
    let registry: AtomRegistry
    let journal: any JournalStore

    /// How many crash points there were, and what went wrong at the first
    /// that went wrong (nil when none did).
    func check(_ point: InjectedFailure) async throws -> (points: Int, failure: String?) {
        let tally = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-rehearse-tally-\(UUID().uuidString)").path
        defer { unlink(tally) }
        _ = try await child(point, runID: RunID.make(), extra: ["--tally", tally])
        let writes = Int((try? String(contentsOfFile: tally, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        guard writes > 0 else { return (0, "the rehearsal made no journal write to crash at") }
        for write in 1...writes {
            let runID = RunID.make()
            let crashed = try await child(point, runID: runID, extra: ["--crash-at", "\(write)"])
            let row: RehearsalRow?
            if let crashed {
                row = crashed
            } else {
                row = try await recover(runID, point)
            }
            if let row, !row.passed {
                let what = row.left_behind.isEmpty ? "" : ": " + row.left_behind.joined(separator: "; ")
                return (writes, "after a crash at journal write \(write) of \(writes) and recovery, the run ended \(row.status.rawValue)\(what)")
            }
        }
        return (writes, nil)
    }

    /// Runs one rehearsal in a child process. Its row when it ran to the
    /// end; nil when the crash hook killed it.
    private func child(_ point: InjectedFailure, runID: String, extra: [String]) async throws -> RehearsalRow? {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-rehearse-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["rehearse", command.file, "--yes", "--home", command.homeOptions.home,
                             "--journal-sync", command.homeOptions.sync.rawValue] + command.homeOptions.journalArguments + [
                             "--point", "\(point.when.rawValue):\(point.step)", "--run-id", runID]
            + command.vars.flatMap { ["--var", $0] } + (command.configOptions.config.map { ["--config", $0] } ?? []) + extra
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        // Waited for by its termination handler: no thread of the
        // cooperative pool blocks on it.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            process.terminationHandler = { _ in continuation.resume() }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume()
            }
        }
        if process.terminationReason == .uncaughtSignal { return nil }
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        guard let line = text.split(separator: "\n").last,
              let row = try? JSONDecoder().decode(RehearsalRow.self, from: Data(line.utf8)) else {
            Output.error("error: a rehearsal child ended with exit code \(process.terminationStatus) and no report")
            throw AtomdExit.unavailable.code
        }
        return row
    }

    /// The run the child left, finished from its journal. Nil when the
    /// child was killed before the run was recorded (nothing ran).
    private func recover(_ runID: String, _ point: InjectedFailure) async throws -> RehearsalRow? {
        let run: JournaledRun?, history: [EngineEvent]
        do {
            run = try await journal.run(runID)
            history = try await journal.events(of: runID)
        } catch {
            Output.error("error: \(error)")
            throw AtomdExit.unavailable.code
        }
        guard let run else { return nil }
        guard run.isOpen else {
            let left = history.filter { ($0.data?["rehearsal_difference"] ?? .null) != .null }.compactMap(\.detail)
            return RehearsalRow(step: point.step, when: point.when, run_id: runID, status: run.status, reverted: [], seconds: 0,
                                left_behind: left, not_reached: false)
        }
        return try await RehearsalRun(registry: registry, journal: journal, point: point).row { engine throws(RunSetupError) in
            try engine.resume(RunRequest(job: job, runID: runID, vars: run.vars, secrets: secrets, injectedFailure: point),
                              history: history)
        }
    }
}
