import ArgumentParser
import Foundation
import Hummingbird
import NIOCore

@main
struct FakeCloudCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fakecloud",
        abstract: "A small cloud API on 127.0.0.1 for atomd's demos and tests.",
        discussion: """
            Servers (POST/GET/DELETE /servers[/ID], BUILD then ACTIVE after --build-delay), \
            volumes (/volumes[/ID]), attachments (POST /servers/ID/attachments {volume}, \
            DELETE /servers/ID/attachments/VOLUME; 409 when the volume is attached elsewhere), \
            quotas (403). A create repeated with the same Idempotency-Key returns the first \
            result. GET /ledger lists live resources and every create and delete with its key. \
            POST /admin/faults {route: "POST /volumes", status: 500, count: 1, latency_ms, late_ms, drop} \
            injects failures; DELETE /admin/faults clears them.
            """
    )

    @Option(help: "The port on 127.0.0.1; 0 picks a free one and prints it.")
    var port = 8700

    @Option(help: ArgumentHelp("Listen on this Unix socket instead of TCP.", valueName: "path"))
    var socket: String?

    @Option(name: .customLong("build-delay"), help: "Milliseconds a server stays BUILD.")
    var buildDelay = 300

    @Option(name: .customLong("max-servers"), help: "Server quota.")
    var maxServers = 10

    @Option(name: .customLong("max-volumes"), help: "Volume quota.")
    var maxVolumes = 10

    func run() async throws {
        let cloud = Cloud(buildDelay: .milliseconds(buildDelay), maxServers: maxServers, maxVolumes: maxVolumes)
        let app = Application(
            router: Routes.router(cloud: cloud, faults: Faults()),
            configuration: .init(address: socket.map { .unixDomainSocket(path: $0) } ?? .hostname("127.0.0.1", port: port),
                                 serverName: "fakecloud"),
            onServerRunning: { [socket] channel in
                // Tests read this line to learn the port.
                let line = socket.map { "fakecloud listening on unix:\($0)\n" }
                    ?? "fakecloud listening on http://127.0.0.1:\(channel.localAddress?.port ?? 0)\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            })
        try await app.runService()
    }
}
