import AtomdEngine
import AtomdSpec
import Foundation
@testable import AtomdHTTP
import AtomdTestSupport
import Testing

func context(key: String = "run/step/1") -> AtomContext {
    AtomContext(runID: "run", stepPath: "step", attempt: 1, idempotencyKey: key)
}

func input(_ method: String, _ url: String, json: JSONValue? = nil, expect: [Int] = [], absent: [Int] = [],
           headers: [String: String] = [:], query: [String: String] = [:]) -> JSONValue {
    var fields: [String: JSONValue] = [
        "method": .string(method), "url": .string(url),
        "expect": .array(expect.map { .integer(Int64($0)) }), "absent": .array(absent.map { .integer(Int64($0)) }),
        "headers": .object(headers.mapValues(JSONValue.string)), "query": .object(query.mapValues(JSONValue.string)),
    ]
    if let json { fields["json"] = json }
    return .object(fields)
}

/// `base` (an input object) with `extra`'s fields set over it.
func with(_ base: JSONValue, _ extra: [String: JSONValue]) -> JSONValue {
    guard case .object(var fields) = base else { return base }
    fields.merge(extra) { _, new in new }
    return .object(fields)
}

@Suite struct HTTPAtomTests {
    @Test func createsReadAndChecksAgainstFakeCloud() async throws {
        let cloud = try await FakeCloudProcess()
        let atom = HTTPAtom()
        let created = try await atom.execute(input("POST", cloud.base + "/servers", json: .object(["name": .string("web-1")]), expect: [201]),
                                             context: context())
        #expect(created.response?["status"] == .integer(201))
        #expect(created.response?["json"]["name"] == .string("web-1"))
        #expect(created.response?["headers"]["content-type"] == .string("application/json"))
        let id = try #require(created.response)["json"]["id"].interpolated
        let probe = input("GET", cloud.base + "/servers/\(id)", expect: [200], absent: [404])
        guard case .present(nil, let answer?) = try await atom.check(probe, outputs: nil, context: context(key: "")) else {
            Issue.record("the check did not find the server")
            return
        }
        #expect(answer["json"]["id"].interpolated == id, "a present check carries the answer it read")
        _ = try await atom.execute(input("DELETE", cloud.base + "/servers/\(id)", expect: [204]), context: context(key: "run/step/1/revert/1"))
        #expect(try await atom.check(probe, outputs: nil, context: context(key: "")) == .absent)
    }

    /// A `state:` probe reads the resource as FakeCloud has it, changes
    /// nothing there, and does not guess when the resource is not found.
    @Test func aStateProbeReportsTheResourceAndNeverGuesses() async throws {
        let cloud = try await FakeCloudProcess()
        let atom = HTTPAtom()
        let created = try await atom.execute(input("POST", cloud.base + "/servers", json: .object(["name": .string("web-1")]), expect: [201]),
                                             context: context())
        let id = try #require(created.response)["json"]["id"].interpolated
        let state = try await atom.state(input("GET", cloud.base + "/servers/\(id)"), context: context(key: ""))
        #expect(state["name"] == .string("web-1"))
        await #expect(throws: AtomError.self) {
            _ = try await atom.state(input("GET", cloud.base + "/servers/no-such-server"), context: context(key: ""))
        }
        #expect(try await cloud.creates() == 1)
        #expect(try await cloud.live()["servers"] == [id])
    }

    /// FakeCloud ties a key to its first request, as Stripe does: a revert
    /// sent with its create's key is refused and changes nothing.
    @Test func aKeyIsTiedToItsFirstRequest() async throws {
        let cloud = try await FakeCloudProcess()
        let atom = HTTPAtom()
        let created = try await atom.execute(input("POST", cloud.base + "/servers", json: .object(["name": .string("web-1")]), expect: [201]),
                                             context: context(key: "run/server/1"))
        let id = try #require(created.response)["json"]["id"].interpolated
        await #expect(throws: AtomError.self) {
            _ = try await atom.execute(input("DELETE", cloud.base + "/servers/\(id)", expect: [204]), context: context(key: "run/server/1"))
        }
        #expect(try await cloud.live()["servers"] == [id])
        _ = try await atom.execute(input("DELETE", cloud.base + "/servers/\(id)", expect: [204]), context: context(key: "run/server/1/revert/1"))
        #expect(try await cloud.live()["servers"] == [])
    }

    @Test func aCheckSendsNoIdempotencyKey() throws {
        let probe = try HTTPAtom.request(input("GET", "http://127.0.0.1:1/servers/1"), idempotencyKey: "")
        #expect(!probe.headers.contains { $0.name.lowercased() == "idempotency-key" })
        let create = try HTTPAtom.request(input("POST", "http://127.0.0.1:1/servers"), idempotencyKey: "run/server/1")
        #expect(create.headers.contains { $0 == ("Idempotency-Key", "run/server/1") })
    }

    @Test func theIdempotencyKeyMakesARetriedCreateReturnTheFirstResult() async throws {
        let cloud = try await FakeCloudProcess()
        let atom = HTTPAtom()
        let request = input("POST", cloud.base + "/volumes", json: .object(["size_gb": .integer(10)]), expect: [201])
        let first = try await atom.execute(request, context: context(key: "run/volume/1"))
        let again = try await atom.execute(request, context: context(key: "run/volume/1"))
        let other = try await atom.execute(request, context: context(key: "run/volume/2"))
        #expect(first.response?["json"]["id"] == again.response?["json"]["id"])
        #expect(first.response?["json"]["id"] != other.response?["json"]["id"])
        #expect(try await cloud.creates() == 2)
    }

    @Test func anUnexpectedStatusFailsWithTheStatusAndBody() async throws {
        let cloud = try await FakeCloudProcess(["--max-volumes", "0"])
        do {
            _ = try await HTTPAtom().execute(input("POST", cloud.base + "/volumes", json: .object(["size_gb": .integer(1)]), expect: [201]),
                                             context: context())
            Issue.record("a 403 should fail the step")
        } catch let error as AtomError {
            #expect(error.message.contains("returned 403 (expected 201)"))
            #expect(error.message.contains("volume quota of 0 exceeded"))
        }
    }

    @Test func injectedFaultsAreSeenThenCleared() async throws {
        let cloud = try await FakeCloudProcess()
        try await cloud.inject(#"{"route": "GET /servers/*", "status": 503, "count": 1}"#)
        #expect(try await cloud.call("GET", "/servers/srv-9").status == 503)
        #expect(try await cloud.call("GET", "/servers/srv-9").status == 404)
    }

    @Test func aRefusedConnectionIsAClearError() async throws {
        do {
            _ = try await HTTPClient().send(HTTPRequest(url: "http://127.0.0.1:1/"))
            Issue.record("port 1 should refuse")
        } catch {
            #expect(error.kind == .connection)
            #expect(error.message.contains("127.0.0.1:1"))
        }
    }

    @Test func timeoutsAndCancellationAbortTheTransfer() async throws {
        let cloud = try await FakeCloudProcess()
        // Far longer than the bound below, which only a cancelled transfer
        // meets, however loaded the machine.
        try await cloud.inject(#"{"route": "GET /servers", "latency_ms": 30000}"#)
        do {
            _ = try await cloud.client.send(HTTPRequest(url: cloud.base + "/servers", timeout: .milliseconds(200)))
            Issue.record("the request should time out")
        } catch {
            #expect(error.kind == .timeout)
        }
        let started = ContinuousClock.now
        let task = Task { try await HTTPAtom(client: cloud.client).execute(input("GET", cloud.base + "/servers"), context: context()) }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
        #expect(ContinuousClock.now - started < .seconds(15))
    }

    @Test func responsesOverTheCapAreRefused() async throws {
        let cloud = try await FakeCloudProcess()
        do {
            _ = try await cloud.client.send(HTTPRequest(url: cloud.base + "/ledger", maxResponseBytes: 10))
            Issue.record("a response over the cap should fail")
        } catch {
            #expect(error.kind == .tooLarge)
        }
    }

    /// A value with CR/LF in a header would add headers of its own (issue
    /// 17, finding 4): refused before anything is sent, so FakeCloud makes
    /// nothing, and the failure says it changed nothing.
    @Test func aLineBreakInAHeaderOrTheURLIsRefusedBeforeSending() async throws {
        let cloud = try await FakeCloudProcess()
        let atom = HTTPAtom()
        let injected = ["X-Trace": "a\r\nIdempotency-Key: forged", "X-Nul": "a\u{0}b", "Bad\nName": "x"]
        for (name, value) in injected {
            do {
                _ = try await atom.execute(input("POST", cloud.base + "/servers", json: .object(["name": .string("web-1")]),
                                                 expect: [201], headers: [name: value]), context: context())
                Issue.record("a header \(name.debugDescription) with \(value.debugDescription) was sent")
            } catch let error as AtomError {
                #expect(error.changedNothing, "\(error.message)")
                #expect(!error.retryable)
                #expect(error.message.contains("line break or NUL"), "\(error.message)")
            }
        }
        await #expect(throws: AtomError.self) {
            _ = try await atom.execute(input("POST", cloud.base + "/servers\r\nX-Injected: 1", expect: [201]), context: context())
        }
        #expect(try await cloud.creates() == 0)
        // The same request without the line break goes through.
        _ = try await atom.execute(input("POST", cloud.base + "/servers", json: .object(["name": .string("web-1")]), expect: [201],
                                         headers: ["X-Trace": "a b"]), context: context())
        #expect(try await cloud.creates() == 1)
    }

    @Test func queriesAreEncodedAndOnlyHTTPSchemesAreAllowed() throws {
        let request = try HTTPAtom.request(input("GET", "http://127.0.0.1:9/x", query: ["q": "a b&c=d", "z": "1"]), idempotencyKey: "k")
        #expect(request.url == "http://127.0.0.1:9/x?q=a%20b%26c%3Dd&z=1")
        #expect(request.headers.contains { $0.name == "Idempotency-Key" && $0.value == "k" })
        #expect(throws: AtomError.self) { try HTTPAtom.request(input("GET", "file:///etc/passwd"), idempotencyKey: "k") }
    }
}
