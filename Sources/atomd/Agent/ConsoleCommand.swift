import ArgumentParser
import AtomdAgent
import Foundation

struct ConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Print a one-time login link to the agent's web console.",
        discussion: """
            The agent serves the console when its configuration sets api.listen (for example \
            127.0.0.1:8470; an address other than loopback needs api.tls, and is served over \
            HTTPS). The link is good once, for two minutes; \
            opening it signs that browser tab in for 12 hours (the session lives in the tab, \
            never in a cookie: another tab needs a link of its own), with the rights the \
            control socket gives you: members of api.group and the agent's user steer runs \
            (pause, resume, cancel, retry, skip, roll back); other users admitted by \
            api.public_read only watch. No password is stored anywhere; an agent \
            restart signs every browser out.

            From another machine: `ssh -L 8470:127.0.0.1:8470 HOST`, then open the link there.

            Exit codes: 0 link printed; 2 the agent serves no console or refused you; 4 no agent.
            """
    )

    @Option(help: ArgumentHelp("The atomd home, for its default socket.", valueName: "dir"))
    var home = "./.atomd"

    @OptionGroup var socketOption: SocketOption

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let client = AgentClient(socket: socketOption.path(home: home))
        let link: ConsoleLink
        do {
            link = try client.decode(ConsoleLink.self, from: try await client.post("/console/login"))
        } catch let failure as AgentClient.Failure {
            throw failure.exit
        }
        if output.json {
            try Output.json(link)
            return
        }
        Output.line(link.url)
        Output.error("good once, for 2 minutes; signs \(link.user) in to \(link.steer ? "watch and steer" : "watch (read-only)")")
    }
}
