import AtomdEngine
import AtomdShell
import AtomdSpec
import Foundation
import Synchronization
import Testing

/// Atoms that write no logs of their own (http, plugin atoms) get step log
/// files through `LoggedAtom`: named as a shell step's, masked, and none for
/// a call that logged nothing.
@Suite struct LoggedAtomTests {
    /// Logs what its input says, then succeeds; its revert logs one line.
    struct Chatty: Atom {
        let name = "t.chatty"
        var capabilities: AtomCapabilities { [.revert] }

        func execute(_ input: JSONValue, context: AtomContext) async throws -> AtomResult {
            if case .array(let lines) = input { for line in lines { context.log(line.interpolated) } }
            return AtomResult(outputs: .object([:]))
        }

        func revert(_ input: JSONValue, outputs: JSONValue?, context: AtomContext) async throws {
            context.log("DELETE /servers/7")
        }
    }

    @Test func linesGoToTheStepsLogFileMaskedAndAlsoToTheRun() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-logged-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let atom = LoggedAtom(Chatty(), logDirectory: directory)
        let seen = LockedLines()
        var context = AtomContext(runID: "run-1", stepPath: "place/server", attempt: 2, idempotencyKey: "k",
                                  mask: SecretMask(["s3cr3t-token"]), log: { seen.add($0) })
        _ = try await atom.execute(.array([.string("POST /servers token=s3cr3t-token"), .string("201 in 12 ms")]), context: context)
        let log = try String(contentsOfFile: directory + "/run-1/place/server.2.log", encoding: .utf8)
        #expect(log.contains("log | POST /servers token=***") && log.contains("log | 201 in 12 ms"), "\(log)")
        #expect(!log.contains("s3cr3t"))
        #expect(seen.lines.count == 2, "the lines still reach the run's events")
        var info = stat()
        #expect(stat(directory + "/run-1/place/server.2.log", &info) == 0 && info.st_mode & 0o777 == 0o600)

        context.phase = .revert
        context.attempt = 1
        try await atom.revert(.null, outputs: nil, context: context)
        #expect(try String(contentsOfFile: directory + "/run-1/place/server.1.revert.log", encoding: .utf8).contains("DELETE /servers/7"))
        // A call that logs nothing leaves no file.
        context.phase = .execute
        context.attempt = 3
        _ = try await atom.execute(.array([]), context: context)
        #expect(!FileManager.default.fileExists(atPath: directory + "/run-1/place/server.3.log"))
    }
}

final class LockedLines: Sendable {
    private let storage = Mutex<[String]>([])
    func add(_ line: String) { storage.withLock { $0.append(line) } }
    var lines: [String] { storage.withLock { $0 } }
}
