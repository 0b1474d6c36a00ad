import ArgumentParser
import AtomdAgent
import AtomdJournal
import AtomdSpec
import Foundation

struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print the output of a run's steps (all steps, or one), oldest attempt first.",
        discussion: """
            Step output is kept in HOME/logs/RUN/STEP.ATTEMPT.log, each line prefixed with its \
            time and stream. With -f, new lines are printed as they are written until the run \
            has ended. `--json` prints one object per line: step, attempt, line.
            """
    )

    @OptionGroup var selection: RunSelection

    @Argument(help: ArgumentHelp("Only this step (its id or its path).", valueName: "step"))
    var step: String?

    @Flag(name: [.customShort("f"), .long], help: "Keep printing new output until the run has ended.")
    var follow = false

    @OptionGroup var socketOption: SocketOption

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let client = AgentClient(socket: socketOption.path(home: selection.homeOptions.home))
        do {
            try await printFromAgent(client)
            return
        } catch let error as AgentClient.Failure {
            guard case .unavailable(let reason) = error else { throw error.exit }
            Output.error("note: \(reason); reading the journal and HOME/logs instead")
        }
        let (journal, run) = try await selection.load()
        if let step {
            let steps = (try? await journal.steps(of: run.id)) ?? []
            try Self.require(step, in: steps.map { ($0.id, $0.path) }, run: run.id)
        }
        let reader = StepLogReader(directory: selection.homeOptions.home + "/logs/" + run.id, step: step, json: output.json)
        reader.printNew()
        guard follow else { return }
        while (try? await journal.run(run.id))??.isOpen ?? false {
            try await Task.sleep(for: .milliseconds(200))
            reader.printNew()
        }
        reader.printNew()
    }
}

extension LogsCommand {
    /// A step named that is not one of the run's (by id or path) is an
    /// error that lists them: printing nothing would look like a step with
    /// no output.
    static func require(_ step: String, in steps: [(id: String, path: String)], run: String) throws {
        guard !steps.contains(where: { $0.id == step || $0.path == step }) else { return }
        Output.error("error: run \(run) has no step '\(step)'; its steps: \(steps.map(\.id).joined(separator: ", "))")
        throw AtomdExit.usage.code
    }

    /// Through the agent's API, which reads its own log directory; with -f
    /// until the run is closed.
    private func printFromAgent(_ client: AgentClient) async throws {
        let run = "/runs/" + selection.runID.percentEscaped
        let query = run + "/logs" + (step.map { "?step=" + $0.percentEscaped } ?? "")
        let printer = StepLogReader(directory: "", step: nil, json: output.json)
        var printed: [String: Int] = [:]
        while true {
            // Whether the run was still open before reading: lines written
            // before it closed are then in this read.
            let detail = try await client.get(run)
            let decoded = try? client.decode(RunDetail.self, from: detail)
            if let step, let decoded {
                try Self.require(step, in: decoded.steps.map { ($0.id, $0.path) }, run: selection.runID)
            }
            let open = follow && decoded?.run.open == true
            let lines = (try? client.decode([StepLogs].self, from: try await client.get(query))) ?? []
            var seen: [String: Int] = [:]
            for line in lines {
                let key = "\(line.step).\(line.attempt).\(line.phase ?? "")"
                seen[key, default: 0] += 1
                if seen[key, default: 0] > printed[key, default: 0] {
                    printer.emit(path: line.step, attempt: line.attempt, phase: line.phase, line: line.line)
                }
            }
            printed = seen
            guard open else { return }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }
}

/// Reads step log files, remembering how far each was printed.
final class StepLogReader {
    private let directory: String
    private let step: String?
    private let json: Bool
    private var printed: [String: UInt64] = [:]
    private var lastHeader: String?

    init(directory: String, step: String?, json: Bool) {
        self.directory = directory
        self.step = step
        self.json = json
    }

    func printNew() {
        for entry in StepLogs.files(directory: directory, step: step) {
            let file = entry.file
            guard let handle = FileHandle(forReadingAtPath: file) else { continue }
            defer { try? handle.close() }
            let offset = printed[file] ?? 0
            guard (try? handle.seek(toOffset: offset)) != nil, let data = try? handle.readToEnd(), !data.isEmpty else { continue }
            // Only whole lines; a partial last line waits for its end.
            guard let end = data.lastIndex(of: UInt8(ascii: "\n")) else { continue }
            printed[file] = offset + UInt64(end - data.startIndex + 1)
            let text = String(decoding: data[data.startIndex...end], as: UTF8.self)
            for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
                emit(path: entry.path, attempt: entry.attempt, phase: entry.phase, line: String(line))
            }
        }
    }

    func emit(path: String, attempt: Int, phase: String?, line: String) {
        if json {
            var object: [String: JSONValue] = ["step": .string(path), "attempt": .integer(Int64(attempt)), "line": .string(line)]
            if let phase { object["phase"] = .string(phase) }
            Output.line(JSONValue.object(object).json)
            return
        }
        let header = "== \(path) (\(phase.map { $0 + " " } ?? "")attempt \(attempt)) =="
        if header != lastHeader {
            Output.line(header)
            lastHeader = header
        }
        Output.line(line)
    }
}
