import AtomdEngine
import AtomdSpec
import Foundation
@testable import AtomdHTTP
import AtomdTestSupport
import Testing

/// Values in an `http:` URL stay in the component they land in.
@Suite struct URLTemplateTests {
    static func template(_ pieces: [String]) throws -> Template {
        // Pieces alternate literal text and expression source.
        let location = SourceLocation(line: 1, column: 1)
        var parts: [Template.Part] = []
        for (index, piece) in pieces.enumerated() {
            if index % 2 == 0 {
                if !piece.isEmpty { parts.append(.literal(piece)) }
            } else {
                parts.append(.expression(Expression(source: piece, root: try ExpressionParser.parse(piece), location: location)))
            }
        }
        return Template(parts: parts, location: location)
    }

    static func url(_ pieces: [String], vars: [String: String]) throws -> String {
        let values = ActionValues(evaluator: ExpressionEvaluator(contexts: ["vars": .object(vars.mapValues(JSONValue.string))]),
                                  environment: [])
        let action = Action.http(HTTPAction(method: "DELETE", url: try template(pieces)))
        return try HTTPAtom().input(for: action, values: values)["url"].interpolated
    }

    /// The issue's attack: a create answered with an id that walks out of its
    /// collection; the revert built from it must delete nothing else.
    @Test func aHostileIdInARevertDeletesNothingElse() async throws {
        let cloud = try await FakeCloudProcess()
        let atom = HTTPAtom()
        let precious = try await atom.execute(input("POST", cloud.base + "/volumes", json: .object(["size_gb": .integer(1)]), expect: [201]),
                                              context: context(key: "run/precious/1"))
        let preciousID = try #require(precious.response)["json"]["id"].interpolated
        let hostile = "../volumes/\(preciousID)?force=true&x="
        let url = try Self.url(["\(cloud.base)/volumes/", "vars.id"], vars: ["id": hostile])
        #expect(url == "\(cloud.base)/volumes/..%2Fvolumes%2F\(preciousID)%3Fforce%3Dtrue%26x%3D")
        let revert = input("DELETE", url, expect: [204], absent: [404])
        _ = try? await atom.execute(revert, context: context(key: "run/hostile/1/revert/1"))
        #expect(try await cloud.live()["volumes"] == [preciousID])
    }

    @Test func eachComponentIsEncodedForItself() throws {
        #expect(try Self.url(["", "vars.api", "/servers/", "vars.id"], vars: ["api": "http://127.0.0.1:9/v1", "id": "a b/c"])
            == "http://127.0.0.1:9/v1/servers/a%20b%2Fc")
        #expect(try Self.url(["http://127.0.0.1:9/x?name=", "vars.n", "&k=1"], vars: ["n": "a&b=c#d+é"])
            == "http://127.0.0.1:9/x?name=a%26b%3Dc%23d%2B%C3%A9&k=1")
        #expect(throws: EvaluationError.self) { try Self.url(["http://127.0.0.1:9/x/", "vars.n"], vars: ["n": ".."]) }
        #expect(try Self.url(["http://127.0.0.1:9/x/", "vars.n"], vars: ["n": "%2e%2e"]) == "http://127.0.0.1:9/x/%252e%252e")
        #expect(try Self.url(["http://127.0.0.1:9/x#", "vars.n"], vars: ["n": "a/b"]) == "http://127.0.0.1:9/x#a%2Fb")
        #expect(try Self.url(["http://127.0.0.1:9/", "url_raw(vars.p)"], vars: ["p": "a/b?c=d"]) == "http://127.0.0.1:9/a/b?c=d")
    }

    @Test func aValueInTheHostPartCannotMoveTheRequest() throws {
        #expect(try Self.url(["http://", "vars.h", ":9/x"], vars: ["h": "127.0.0.1"]) == "http://127.0.0.1:9/x")
        for hostile in ["evil.test/x?", "user@evil.test", "127.0.0.1#", "a b", "127.0.0.1:18082"] {
            #expect(throws: EvaluationError.self) { try Self.url(["http://", "vars.h", "/x"], vars: ["h": hostile]) }
        }
    }
}
