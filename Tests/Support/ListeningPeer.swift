import Foundation

/// A server a test starts beside itself (FakeCloud, a Python peer, moto):
/// started with a free port, waited for until it prints the line naming
/// its port, and stopped when the test lets go of it.
public final class ListeningPeer: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    let process: Process
    /// `http://127.0.0.1:PORT`.
    public let base: String
    /// The port, or "unix" when the peer said it listens on a Unix socket.
    public let port: String

    /// `announcement`: the text before the address on the line that
    /// announces it ("listening on " before "12345", "http://127.0.0.1:12345"
    /// or "unix:PATH").
    public init(_ executable: URL, _ arguments: [String], announcement: String,
                environment: [String: String]? = nil) async throws {
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw Failure(description: "no \(executable.path); run scripts/test, which builds and installs the test peers")
        }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("peer-\(UUID().uuidString).out")
        try Data().write(to: output)
        defer { try? FileManager.default.removeItem(at: output) }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: output)
        try process.run()
        self.process = process
        // Generous: on a shared two-CPU machine, dozens of tests start processes at once.
        let deadline = ContinuousClock.now + .seconds(60)
        var found: String?
        var text = ""
        while found == nil, ContinuousClock.now < deadline, process.isRunning {
            text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            found = text.split(separator: "\n").lazy.compactMap { line -> String? in
                guard let range = line.range(of: announcement) else { return nil }
                let rest = line[range.upperBound...]
                if rest.hasPrefix("unix:") { return "unix" }
                // "12345", or an address ending in ":12345".
                let port = rest.split(separator: ":").last?.prefix { $0.isNumber } ?? ""
                return port.isEmpty ? nil : String(port)
            }.first
            if found == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        guard let found else {
            process.terminate()
            throw Failure(description: "\(executable.lastPathComponent) did not start within 60 s: \(text.suffix(2000))")
        }
        port = found
        base = found == "unix" ? "http://fakecloud" : "http://127.0.0.1:\(found)"
    }

    deinit {
        process.terminate()
    }

    /// The Python of the virtual environment scripts/setup makes, with
    /// the test peers' packages (botocore, moto).
    public static var python: URL {
        PluginFixtures.repository.appendingPathComponent(".build-venv/bin/python")
    }
}
