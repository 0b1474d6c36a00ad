import ArgumentParser
import AtomdAgent
import Foundation

struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Validate a job file, then hand it to the agent's spool.",
        discussion: """
            The file is checked as `atomd validate` checks it, plugin atoms included (with \
            --config and HOME/plugins); an invalid one is refused here \
            (exit 2) and never reaches the spool. A valid one goes to the running agent over its \
            socket, which writes it into incoming/ atomically (aside, synced, renamed in; a name \
            in use gets a number). Without a running agent it is written into HOME/spool/incoming \
            the same way, and the agent claims it when it starts. Prints the name it arrived \
            under; `atomd runs` shows its run once claimed. With --json: {"file", "name", "via"}, \
            where via is "agent" or "spool" and name is the name in incoming/.

            Exit codes: 0 submitted; 2 invalid job; 4 neither the agent nor the spool can be reached.
            """
    )

    @Argument(help: ArgumentHelp("The job file.", valueName: "file"))
    var file: String

    @Option(help: ArgumentHelp("The name in the spool (default: the file's name).", valueName: "name"))
    var name: String?

    @Option(help: ArgumentHelp("The atomd home, for its default socket and spool.", valueName: "dir"))
    var home = "./.atomd"

    @OptionGroup var socketOption: SocketOption

    @OptionGroup var configOptions: ConfigOptions

    @OptionGroup var output: OutputOptions

    /// What `--json` prints.
    struct Submitted: Encodable {
        var file: String
        var name: String
        var via: String
    }

    func run() async throws {
        let (job, text) = try JobFile.loadWithText(file)
        let problems = try await PluginJobCheck.diagnostics(for: [job], home: home, configOptions: configOptions).first ?? []
        guard problems.isEmpty else {
            for problem in problems { Output.error(problem.description) }
            throw AtomdExit.usage.code
        }
        let name = name ?? (file as NSString).lastPathComponent
        let client = AgentClient(socket: socketOption.path(home: home))
        let reason: String
        do {
            let reply = try await client.post("/jobs?name=\(name.urlPathEscaped)", body: Array(text.utf8))
            let filed = (try? client.decode([String: String].self, from: reply))?["file"] ?? name
            return try report(Submitted(file: file, name: filed, via: "agent"), saying: "submitted \(file) as incoming/\(filed)")
        } catch let error as AgentClient.Failure {
            guard case .unavailable(let why) = error else { throw error.exit }
            reason = why
        }
        Output.error("note: \(reason); writing into the spool directly")
        let filed: String
        do {
            filed = try SpoolDrop.write(Array(text.utf8), named: name, into: SpoolLayout(root: home + "/spool"))
        } catch {
            Output.error("error: \(error)")
            throw AtomdExit.unavailable.code
        }
        try report(Submitted(file: file, name: filed, via: "spool"),
                   saying: "submitted \(file) as \(home)/spool/incoming/\(filed) (the agent claims it when it runs)")
    }

    private func report(_ submitted: Submitted, saying text: String) throws {
        if output.json { try Output.json(submitted) } else { Output.line(text) }
    }
}
