import AtomdHTTP
import AtomdSpec
import Foundation

/// A real FakeCloud process on 127.0.0.1 with a free port, for one test.
/// Shared by the HTTP atom's tests and the end-to-end tests.
public final class FakeCloudProcess: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    let process: Process
    public let base: String
    public let client = HTTPClient()

    /// The FakeCloud binary built beside the test bundle.
    public static var binary: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("FakeCloud")
    }

    public init(_ arguments: [String] = []) async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            throw Failure(description: "no FakeCloud at \(Self.binary.path); build it first (swift build)")
        }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("fakecloud-\(UUID().uuidString).out")
        try Data().write(to: output)
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = ["--port", "0"] + arguments
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        // Wait for the line that names the port. Generous: on a shared
        // two-CPU machine, dozens of tests start processes at once.
        let deadline = ContinuousClock.now + .seconds(60)
        var port: String?
        while port == nil, ContinuousClock.now < deadline, process.isRunning {
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            port = text.split(separator: "\n").first { $0.hasPrefix("fakecloud listening on ") }.map { String($0.split(separator: ":").last ?? "") }
            if text.contains("fakecloud listening on unix:") { port = "unix" }
            if port == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        try? FileManager.default.removeItem(at: output)
        guard let port else {
            process.terminate()
            throw Failure(description: "FakeCloud did not start within 60 s")
        }
        base = port == "unix" ? "http://fakecloud" : "http://127.0.0.1:\(port)"
    }

    deinit {
        process.terminate()
    }

    public func call(_ method: String, _ path: String, json: String? = nil) async throws -> HTTPResponse {
        try await client.send(HTTPRequest(method: method, url: base + path, headers: json == nil ? [] : [("Content-Type", "application/json")],
                                          body: json.map { Array($0.utf8) }))
    }

    /// Live resources: servers, volumes, attachments.
    public func live() async throws -> [String: [String]] {
        let ledger = try JSONDecoder().decode(JSONValue.self, from: Data(try await call("GET", "/ledger").body))
        guard case .object(let live) = ledger["live"] else { return [:] }
        return live.mapValues { value in
            guard case .array(let items) = value else { return [] }
            return items.map(\.interpolated)
        }
    }

    public func creates() async throws -> Int {
        let ledger = try JSONDecoder().decode(JSONValue.self, from: Data(try await call("GET", "/ledger").body))
        guard case .array(let events) = ledger["events"] else { return 0 }
        return events.filter { $0["op"] == .string("create") }.count
    }

    public func inject(_ fault: String) async throws {
        let response = try await call("POST", "/admin/faults", json: fault)
        guard response.status == 204 else { throw Failure(description: "fault not accepted: \(response.status)") }
    }
}
