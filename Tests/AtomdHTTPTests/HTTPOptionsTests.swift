import AtomdEngine
import AtomdSpec
import AtomdTestSupport
import Foundation
@testable import AtomdHTTP
import Synchronization
import Testing

@Suite struct HTTPOptionsTests {
    @Test func untilPollsUntilTheExpressionHolds() async throws {
        let cloud = try await FakeCloudProcess(["--build-delay", "0"])
        let created = try await cloud.call("POST", "/servers", json: #"{"name": "db"}"#)
        let id = try JSONDecoder().decode(JSONValue.self, from: Data(created.body))["id"].interpolated
        // Two refusals first: the atom must poll through them, deterministically.
        try await cloud.inject(#"{"route": "GET /servers/*", "status": 503, "count": 2}"#)
        let lines = Mutex<[String]>([])
        let logging = AtomContext(runID: "run", stepPath: "wait", attempt: 1, idempotencyKey: "run/wait/1",
                                  log: { line in lines.withLock { $0.append(line) } })
        let result = try await HTTPAtom().execute(with(input("GET", cloud.base + "/servers/\(id)"), [
            "until": .string("response.status == 200 && response.json.status == vars.wanted"),
            "until_vars": .object(["wanted": .string("ACTIVE")]),
            "poll": .object(["interval_ms": .integer(20), "timeout_ms": .integer(60_000)]),
        ]), context: logging)
        #expect(result.response?["json"]["status"] == .string("ACTIVE"))
        let log = lines.withLock { $0 }
        #expect(log.filter { $0.hasPrefix("GET ") }.count == 3, "\(log)")
        #expect(log.filter { $0.hasPrefix("503 ") }.count == 2)
    }

    @Test func untilGivesUpAfterThePollTimeout() async throws {
        let cloud = try await FakeCloudProcess()
        do {
            _ = try await HTTPAtom().execute(with(input("GET", cloud.base + "/healthz"), [
                "until": .string("response.status == 299"), "until_vars": .object([:]),
                "poll": .object(["interval_ms": .integer(20), "timeout_ms": .integer(150)]),
            ]), context: context())
            Issue.record("until never holds")
        } catch let error as AtomError {
            #expect(error.message.contains("until response.status == 299 did not hold within 150ms; last status 200"))
        }
    }

    @Test func authAndFormBodiesAreSent() async throws {
        let cloud = try await FakeCloudProcess()
        let atom = HTTPAtom()
        let bearer = try await atom.execute(with(input("GET", cloud.base + "/echo"), ["auth": .object(["bearer": .string("t0k3n")])]),
                                            context: context())
        #expect(bearer.response?["json"]["headers"]["authorization"] == .string("Bearer t0k3n"))
        let basic = try await atom.execute(with(input("POST", cloud.base + "/echo"), [
            "auth": .object(["basic": .object(["user": .string("ops"), "password": .string("p@ss")])]),
            "form": .object(["a b": .string("1&2"), "c": .string("=")]),
        ]), context: context(key: "run/basic/1"))
        #expect(basic.response?["json"]["headers"]["authorization"] == .string("Basic " + Data("ops:p@ss".utf8).base64EncodedString()))
        #expect(basic.response?["json"]["headers"]["content-type"] == .string("application/x-www-form-urlencoded"))
        #expect(basic.response?["json"]["body"] == .string("a%20b=1%262&c=%3D"))
        #expect(basic.response?["json"]["headers"]["idempotency-key"] == .string("run/basic/1"))
    }

    @Test func transientStatusesCarryRetryAfterAndClientErrorsAreFinal() async throws {
        let cloud = try await FakeCloudProcess(["--max-volumes", "0"])
        try await cloud.inject(#"{"route": "GET /echo", "status": 503, "count": 1}"#)
        do {
            _ = try await HTTPAtom().execute(input("GET", cloud.base + "/echo"), context: context())
            Issue.record("the injected 503 should fail")
        } catch let error as AtomError {
            #expect(error.retryable && error.retryAfter == .seconds(1))
        }
        do {
            _ = try await HTTPAtom().execute(input("POST", cloud.base + "/volumes", json: .object(["size_gb": .integer(1)]), expect: [201]),
                                             context: context())
            Issue.record("the quota should fail")
        } catch let error as AtomError {
            #expect(!error.retryable)
        }
    }

    @Test func theEngineWaitsAsLongAsRetryAfterSays() async throws {
        let cloud = try await FakeCloudProcess()
        try await cloud.inject(#"{"route": "GET /echo", "status": 503, "count": 1}"#)
        let job = try JobLoader.load(bytes: Array("""
            version: 1
            name: retry-after
            steps:
              - id: call
                http: { url: "\(cloud.base)/echo" }
                retry: { attempts: 2, delay: 1ms }
            """.utf8), file: "job.yaml")
        let started = ContinuousClock.now
        let report = try await Engine(registry: AtomRegistry([HTTPAtom()])).start(RunRequest(job: job)).wait()
        #expect(report.status == .succeeded)
        #expect(report.steps.first?.attempts == 2)
        #expect(ContinuousClock.now - started >= .seconds(1))
    }

    @Test func requestsCanGoOverAUnixSocket() async throws {
        let socket = FileManager.default.temporaryDirectory.appendingPathComponent("fc-\(UUID().uuidString.prefix(8)).sock").path
        let cloud = try await FakeCloudProcess(["--socket", socket])
        defer { unlink(socket) }
        let result = try await HTTPAtom().execute(with(input("GET", "http://fakecloud/healthz"), ["unix_socket": .string(socket)]),
                                                  context: context())
        #expect(result.response?["json"]["ok"] == .bool(true))
        _ = cloud
    }

    @Test func secretsNeverReachEventsOrLogs() async throws {
        let cloud = try await FakeCloudProcess()
        let job = try JobLoader.load(bytes: Array("""
            version: 1
            name: secret
            secrets: { token: { env: TOKEN } }
            steps:
              - id: call
                http:
                  url: \(cloud.base)/echo
                  auth: { bearer: "${{ secrets.token }}" }
            """.utf8), file: "job.yaml")
        let seen = Mutex<[String]>([])
        let listener = EventCallback { event in
            seen.withLock { $0.append("\(event.kind) \(event.detail ?? "") \(event.data?.json ?? "")") }
        }
        let report = try await Engine(registry: AtomRegistry([HTTPAtom()]), listeners: [listener])
            .start(RunRequest(job: job, secrets: ["token": "s3cr3t-value-42"])).wait()
        #expect(report.status == .succeeded)
        let text = seen.withLock { $0.joined(separator: "\n") }
        #expect(text.contains("Bearer ***"))
        #expect(!text.contains("s3cr3t-value-42"))
    }
}
