import ArgumentParser
import Foundation

/// The `atomd` command. Its help text is the operator's manual: keep every
/// abstract and discussion accurate when behaviour changes.
@main
struct Atomd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atomd",
        abstract: "Run automation jobs as transactions: every step can be undone, and is, when a later one fails.",
        discussion: """
            A job is a YAML file of steps. Each step has an action (a shell script, an HTTP call \
            or a plugin atom) and says how to undo it (revert) and how to tell whether it took \
            effect (check). When a step fails, atomd reverts what was done, newest first.

            Check a job before it runs, then run it:
              atomd validate etc/jobs/*.yaml
              atomd plan etc/jobs/deploy-app.yaml
              atomd run etc/jobs/compensation-demo.yaml --var fail=true

            Exit codes:
              0  success (the job succeeded, or every file is valid)
              1  the job failed and was fully compensated
              2  usage error or invalid job file
              3  compensation failed: something is left behind (the output says what)
              4  the agent or the journal is unavailable
            """,
        version: AtomdVersion.current,
        subcommands: [ValidateCommand.self, PlanCommand.self, RunCommand.self, ResumeCommand.self,
                      RunsCommand.self, ShowCommand.self, LogsCommand.self, AgentCommand.self, SubmitCommand.self,
                      PauseCommand.self, CancelCommand.self, RetryCommand.self, SkipCommand.self, RollbackCommand.self,
                      RevertCommand.self, SetCommand.self, RehearseCommand.self, PluginsCommand.self, ConfigCommand.self, ConsoleCommand.self, JournalCommand.self,
                      PluginHostCommand.self]
    )

    /// Maps argument-parser's usage errors to exit code 2, as documented above,
    /// instead of its default 64.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(AtomdExit.usage.rawValue)
            }
            exit(withError: error)
        }
    }
}

enum AtomdVersion {
    static let current = "0.1.0"
}
