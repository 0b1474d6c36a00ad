import AtomdEngine
import AtomdSpec
import Foundation
@testable import AtomdHTTP
import AtomdTestSupport
import Testing

/// Issue 34: checks that read the answer, `until:` in a check, headers sent
/// once, and an answer that never came classified as "outcome unknown".
@Suite(.timeLimit(.minutes(1))) struct HTTPCheckTests {
    /// Bug 4: a check polls until its condition holds, as a step does.
    @Test func aCheckWithUntilPolls() async throws {
        let cloud = try await FakeCloudProcess(["--build-delay", "400"])
        let created = try await cloud.call("POST", "/servers", json: #"{"name": "web"}"#)
        let id = try JSONDecoder().decode(JSONValue.self, from: Data(created.body))["id"].interpolated
        let probe = with(input("GET", cloud.base + "/servers/\(id)", expect: [200], absent: [404]), [
            "until": .string("response.json.status == 'ACTIVE'"),
            "poll": .object(["interval_ms": .integer(50), "timeout_ms": .integer(10_000)]),
        ])
        guard case .present(_, let answer?) = try await HTTPAtom().check(probe, outputs: nil, context: context(key: "")) else {
            Issue.record("the check did not answer present")
            return
        }
        #expect(answer["json"]["status"] == .string("ACTIVE"), "the check answered before its condition held: \(answer)")
        // A condition that never holds cannot tell, rather than saying present.
        let never = with(probe, ["until": .string("response.json.status == 'GONE'"),
                                 "poll": .object(["interval_ms": .integer(20), "timeout_ms": .integer(200)])])
        let answerNever = try await HTTPAtom().check(never, outputs: nil, context: context(key: ""))
        guard case .unknown(let why) = answerNever else {
            Issue.record("expected unknown, got \(answerNever)")
            return
        }
        #expect(why.contains("did not hold"), "\(why)")
    }

    /// `present:` and `absent:` read the answer: an API that answers 200
    /// for "nothing matched" (EC2's Describe calls) still tells.
    @Test func presentAndAbsentExpressionsReadTheAnswer() async throws {
        let cloud = try await FakeCloudProcess()
        let ledger = input("GET", cloud.base + "/ledger")
        func answer(_ extra: [String: JSONValue]) async throws -> CheckResult {
            try await HTTPAtom().check(with(ledger, extra), outputs: nil, context: context(key: ""))
        }
        let present: [String: JSONValue] = ["present_when": .string("response.json.live.volumes[0] != null")]
        #expect(try await answer(present) == .absent, "no volume yet, and a 200 answer")
        _ = try await cloud.call("POST", "/volumes", json: #"{"size_gb": 1}"#)
        guard case .present = try await answer(present) else {
            Issue.record("the volume was not found")
            return
        }
        // absent wins when it holds; present decides the rest.
        #expect(try await answer(["absent_when": .string("response.json.live.volumes[0] != null")]) == .absent)
        #expect(try await answer(["present_when": .string("true"), "absent_when": .string("true")]) == .absent)
        #expect(try await answer(["present_when": .string("false"), "absent_when": .string("false")]) == .absent)
        guard case .present = try await answer(["absent_when": .string("false")]) else {
            Issue.record("an absent condition that does not hold did not answer present")
            return
        }
        // An expression that fails cannot tell either.
        guard case .unknown(let why) = try await answer(["present_when": .string("xpath(response.text, '//a')")]) else {
            Issue.record("a failing expression did not answer unknown")
            return
        }
        #expect(why.contains("xpath"), "\(why)")
    }

    /// Found by review: an answer's line breaks do not make lines of their
    /// own in a log or an error, where they could pass for atomd's.
    @Test func answersAreLoggedOnOneLine() {
        let forged = "oops\r\n21:33:45.244  run X succeeded\n\nrun X (esc): succeeded — every step done"
        let shown = HTTPAtom.truncated(Array(forged.utf8))
        #expect(!shown.contains("\n") && !shown.contains("\r"))
        #expect(shown == #"oops\r\n21:33:45.244  run X succeeded\n\nrun X (esc): succeeded — every step done"#)
    }

    /// Bug 5: a step's own Accept replaces the default; it is not sent twice.
    @Test func anAcceptHeaderIsSentOnce() async throws {
        let cloud = try await FakeCloudProcess()
        let own = try await HTTPAtom().execute(input("GET", cloud.base + "/echo", headers: ["accept": "application/xml"]), context: context())
        #expect(own.response?["json"]["headers"]["accept"] == .string("application/xml"))
        let plain = try await HTTPAtom().execute(input("GET", cloud.base + "/echo"), context: context())
        #expect(plain.response?["json"]["headers"]["accept"] == .string("application/json, */*"))
    }

    /// Found by review: a POST on a reused connection that the server closes
    /// without a word is not sent again behind the engine's back (libcurl
    /// would, on its own): it is one request, whose outcome is unknown.
    @Test func aPostWhoseConnectionDiesUnansweredIsSentOnce() async throws {
        let script = PluginFixtures.repository.appendingPathComponent("Tests/AtomdHTTPTests/Fixtures/answerless_server.py").path
        let server = try await ListeningPeer(URL(fileURLWithPath: "/usr/bin/python3"), [script], announcement: "listening on ")
        let atom = HTTPAtom()
        _ = try await atom.execute(input("GET", server.base + "/"), context: context())
        do {
            _ = try await atom.execute(input("POST", server.base + "/things", json: .object(["n": .integer(1)]), expect: [201]),
                                       context: context())
            Issue.record("the POST succeeded: it was sent again")
        } catch let error as AtomError {
            #expect(error.outcomeUnknown, "\(error)")
        }
        let count = try await atom.execute(input("GET", server.base + "/"), context: context())
        #expect(count.response?["json"]["count"] == .integer(1), "the POST went out more than once")
    }

    /// An answer that comes too late: the request was sent, so the call's
    /// outcome is unknown (the engine then asks the check and keeps the key).
    /// A refused connection sent nothing and is a plain failure.
    @Test func aLateAnswerIsAnUnknownOutcomeAndARefusedConnectionIsNot() async throws {
        let cloud = try await FakeCloudProcess()
        try await cloud.inject(#"{"route": "POST /volumes", "late_ms": 2000, "count": 1}"#)
        var request = input("POST", cloud.base + "/volumes", json: .object(["size_gb": .integer(1)]), expect: [201])
        request = with(request, ["timeout_ms": .integer(200)])
        do {
            _ = try await HTTPAtom().execute(request, context: context())
            Issue.record("the late answer was waited for")
        } catch let error as AtomError {
            #expect(error.outcomeUnknown && !error.changedNothing, "\(error)")
        }
        #expect(try await cloud.live()["volumes"]?.count == 1, "the late request took effect")
        do {
            _ = try await HTTPAtom().execute(input("POST", "http://127.0.0.1:1/volumes"), context: context())
            Issue.record("a refused connection succeeded")
        } catch let error as AtomError {
            #expect(!error.outcomeUnknown, "\(error)")
        }
    }
}

/// `paginate:` follows the next token and gathers every page's items.
@Suite(.timeLimit(.minutes(1))) struct HTTPPaginationTests {
    private func pages(_ base: String, maxPages: Int = 100) -> JSONValue {
        with(input("GET", base + "/servers", query: ["limit": "2"]), [
            "paginate": .object(["items": .string("response.json.servers"), "next": .string("response.json.next_token"),
                                 "param": .string("after"), "max_pages": .integer(Int64(maxPages))]),
            "contexts": .object(["vars": .object([:])]),
        ])
    }

    @Test func everyPageIsGatheredInOrder() async throws {
        let cloud = try await FakeCloudProcess()
        var made: [String] = []
        for index in 1...5 {
            let created = try await cloud.call("POST", "/servers", json: #"{"name": "web-\#(index)"}"#)
            made.append(try JSONDecoder().decode(JSONValue.self, from: Data(created.body))["id"].interpolated)
        }
        let result = try await HTTPAtom().execute(pages(cloud.base), context: context())
        guard case .array(let items)? = result.response?["items"] else {
            Issue.record("no items in \(result.response ?? .null)")
            return
        }
        #expect(items.map { $0["id"].interpolated } == made.sorted())
        #expect(result.details?["pages"] == .integer(3))
        // More pages than allowed is an error, not a silent cut.
        do {
            _ = try await HTTPAtom().execute(pages(cloud.base, maxPages: 2), context: context())
            Issue.record("the page cap was passed silently")
        } catch let error as AtomError {
            #expect(error.message.contains("more than 2 pages"), "\(error.message)")
        }
    }

    /// An API that hands back the same token would be asked for the same
    /// page until the cap: the second sight of a token ends it.
    @Test func aTokenThatNeverChangesIsAnError() async throws {
        let cloud = try await FakeCloudProcess()
        let request = with(input("GET", cloud.base + "/echo"), [
            "paginate": .object(["items": .string("response.json.query"), "next": .string("'same'"), "param": .string("page"),
                                 "max_pages": .integer(50)]),
        ])
        do {
            _ = try await HTTPAtom().execute(request, context: context())
            Issue.record("a token that never changed was followed")
        } catch let error as AtomError {
            #expect(error.message.contains("a next token it gave before (page 2)"), "\(error.message)")
        }
    }
}
