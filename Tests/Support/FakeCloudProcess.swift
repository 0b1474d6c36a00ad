import AtomdHTTP
import AtomdSpec
import Foundation

/// A real FakeCloud process on 127.0.0.1 with a free port, for one test.
/// Shared by the HTTP atom's tests and the end-to-end tests.
public final class FakeCloudProcess: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    let peer: ListeningPeer
    public var base: String { peer.base }
    public let client = HTTPClient()

    /// The FakeCloud binary built beside the test bundle.
    public static var binary: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("FakeCloud")
    }

    public init(_ arguments: [String] = []) async throws {
        peer = try await ListeningPeer(Self.binary, ["--port", "0"] + arguments, announcement: "fakecloud listening on ")
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
