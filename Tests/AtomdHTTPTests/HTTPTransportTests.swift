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
        guard let server = try await TLSServer.start() else {
            print("tlsVerifiesAgainstTheGivenCA: skipped, openssl is not installed")
            return
        }
        defer { server.stop() }
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
        #expect(insecure.outputs["status"] == .integer(200))
        #expect(lines.withLock { $0 }.contains { $0.hasPrefix("warning: TLS verification is off") })
    }

    @Test func clientCertificatesAreSentWhenTheServerDemandsThem() async throws {
        guard let server = try await TLSServer.start(requireClientCertificate: true) else {
            print("clientCertificatesAreSent: skipped, openssl is not installed")
            return
        }
        defer { server.stop() }
        let client = HTTPClient()
        let withCertificate = try await client.send(HTTPRequest(url: server.url, caFile: server.caFile,
                                                                clientCertificate: server.directory + "/client.pem",
                                                                clientKey: server.directory + "/client.key"))
        #expect(withCertificate.status == 200)
        await #expect(throws: HTTPError.self) { _ = try await client.send(HTTPRequest(url: server.url, caFile: server.caFile)) }
    }
}

/// `openssl s_server` with a certificate for 127.0.0.1 from a CA made for the test.
struct TLSServer {
    let process: Process
    let directory: String
    let url: String
    var caFile: String { directory + "/ca.pem" }

    /// With `requireClientCertificate`, the server also demands a client
    /// certificate from the same CA (`client.pem` / `client.key`).
    static func start(requireClientCertificate: Bool = false) async throws -> TLSServer? {
        guard let openssl = ["/usr/bin/openssl", "/usr/local/bin/openssl"].first(where: FileManager.default.isExecutableFile) else {
            return nil
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: directory + "/ext.cnf", atomically: true, encoding: .utf8)
        for arguments in [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=atomd test CA"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
             "-days", "1", "-extfile", "ext.cnf"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=atomd"],
            ["x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "client.pem", "-days", "1"],
        ] {
            let step = Process()
            step.executableURL = URL(fileURLWithPath: openssl)
            step.arguments = arguments
            step.currentDirectoryURL = URL(fileURLWithPath: directory)
            step.standardOutput = FileHandle.nullDevice
            step.standardError = FileHandle.nullDevice
            try step.run()
            step.waitUntilExit()
            try #require(step.terminationStatus == 0, "openssl \(arguments.prefix(2)) failed")
        }
        for _ in 0..<5 {
            let port = Int.random(in: 20_000...45_000)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: openssl)
            process.arguments = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", "server.pem", "-key", "server.key", "-www", "-quiet"]
                + (requireClientCertificate ? ["-Verify", "1", "-CAfile", "ca.pem", "-verify_return_error"] : [])
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let server = TLSServer(process: process, directory: directory, url: "https://127.0.0.1:\(port)/")
            // Ready when it answers; a port already taken makes it exit.
            let deadline = ContinuousClock.now + .seconds(10)
            while process.isRunning, ContinuousClock.now < deadline {
                let probe = HTTPRequest(url: server.url, clientCertificate: requireClientCertificate ? directory + "/client.pem" : nil,
                                        clientKey: requireClientCertificate ? directory + "/client.key" : nil, insecure: true)
                if (try? await HTTPClient().send(probe)) != nil { return server }
                try await Task.sleep(for: .milliseconds(50))
            }
            server.stop()
        }
        return nil
    }

    func stop() {
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
