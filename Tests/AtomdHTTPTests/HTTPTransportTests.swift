import AtomdEngine
import AtomdSpec
import AtomdTestSupport
import Foundation
@testable import AtomdHTTP
import Synchronization
import Testing

@Suite struct HTTPTransportTests {
    @Test func redirectsAreFollowedOnlyWhenAsked() async throws {
        let cloud = try await FakeCloudProcess()
        let client = HTTPClient()
        let plain = try await client.send(HTTPRequest(url: cloud.base + "/redirect?to=/healthz"))
        #expect(plain.status == 302 && plain.header("location") == "/healthz")
        let followed = try await client.send(HTTPRequest(url: cloud.base + "/redirect?to=/healthz", followRedirects: true))
        #expect(followed.status == 200 && String(decoding: followed.body, as: UTF8.self) == #"{"ok":true}"#)
    }

    @Test func aDroppedConnectionIsARetryableConnectionError() async throws {
        let cloud = try await FakeCloudProcess()
        try await cloud.inject(#"{"route": "GET /echo", "drop": true, "count": 1}"#)
        do {
            _ = try await cloud.client.send(HTTPRequest(url: cloud.base + "/echo"))
            Issue.record("the dropped connection should fail")
        } catch {
            #expect(error.kind == .connection, "\(error)")
        }
        #expect(try await cloud.call("GET", "/echo").status == 200)
    }

    @Test func tlsVerifiesAgainstTheGivenCAAndInsecureIsWarnedAbout() async throws {
        let server = try await TLSServer.start()
        let client = HTTPClient()
        let trusted = try await client.send(HTTPRequest(url: server.url, caFile: server.caFile))
        #expect(trusted.status == 200)
        do {
            _ = try await client.send(HTTPRequest(url: server.url))
            Issue.record("an unknown CA must be refused")
        } catch {
            #expect(error.kind == .tls, "\(error)")
        }
        let lines = Mutex<[String]>([])
        let logging = AtomContext(runID: "run", stepPath: "tls", attempt: 1, idempotencyKey: "run/tls/1",
                                  log: { line in lines.withLock { $0.append(line) } })
        let insecure = try await HTTPAtom(client: client).execute(
            .object(["method": .string("GET"), "url": .string(server.url), "insecure": .bool(true)]), context: logging)
        #expect(insecure.response?["status"] == .integer(200))
        #expect(lines.withLock { $0 }.contains { $0.hasPrefix("warning: TLS verification is off") })
    }

    @Test func clientCertificatesAreSentWhenTheServerDemandsThem() async throws {
        let server = try await TLSServer.start(requireClientCertificate: true)
        let client = HTTPClient()
        let withCertificate = try await client.send(HTTPRequest(url: server.url, caFile: server.caFile,
                                                                clientCertificate: TLSServer.certificates + "/client.pem",
                                                                clientKey: TLSServer.certificates + "/client.key"))
        #expect(withCertificate.status == 200)
        await #expect(throws: HTTPError.self) { _ = try await client.send(HTTPRequest(url: server.url, caFile: server.caFile)) }
    }
}

/// `openssl s_server` on 127.0.0.1 with the committed test certificates
/// (Fixtures/tls, made by its make-certificates script).
struct TLSServer {
    let process: SpawnedProcess
    let url: String
    static let certificates = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/tls").path
    var caFile: String { Self.certificates + "/ca.pem" }

    /// With `requireClientCertificate`, the server also demands a client
    /// certificate from the same CA (`client.pem` / `client.key`).
    static func start(requireClientCertificate: Bool = false) async throws -> TLSServer {
        let openssl = try #require(["/usr/bin/openssl", "/usr/local/bin/openssl"].first(where: FileManager.default.isExecutableFile),
                                   "no openssl: scripts/setup installs it")
        var exits: [String] = []
        for _ in 0..<5 {
            let port = Int.random(in: 20_000...45_000)
            let process = try SpawnedProcess(openssl, ["s_server", "-accept", "127.0.0.1:\(port)", "-www", "-quiet",
                                                               "-cert", certificates + "/server.pem", "-key", certificates + "/server.key"]
                + (requireClientCertificate ? ["-Verify", "1", "-CAfile", certificates + "/ca.pem", "-verify_return_error"] : []))
            let server = TLSServer(process: process, url: "https://127.0.0.1:\(port)/")
            // Ready when it answers; a port already taken makes it exit.
            let deadline = ContinuousClock.now + .seconds(30)
            while process.isRunning, ContinuousClock.now < deadline {
                let probe = HTTPRequest(url: server.url, clientCertificate: requireClientCertificate ? certificates + "/client.pem" : nil,
                                        clientKey: requireClientCertificate ? certificates + "/client.key" : nil, insecure: true)
                if (try? await HTTPClient().send(probe)) != nil { return server }
                try await Task.sleep(for: .milliseconds(50))
            }
            exits.append(process.isRunning ? "port \(port): no answer in 30 s" : "port \(port): exited")
            process.stop()
        }
        throw SpawnedProcess.Failure("openssl s_server did not start: \(exits.joined(separator: ", "))")
    }
}
