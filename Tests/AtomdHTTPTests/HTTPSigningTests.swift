import AtomdEngine
import AtomdSpec
import Foundation
@testable import AtomdHTTP
import AtomdTestSupport
import Testing

/// `auth: { aws_sigv4 }` against a peer that recomputes every signature
/// with botocore and refuses a wrong one: a signature proved right, not
/// just present.
@Suite(.timeLimit(.minutes(1))) struct HTTPSigningTests {
    static let script = PluginFixtures.repository.appendingPathComponent("Tests/AtomdHTTPTests/Fixtures/sigv4_server.py").path

    private func peer() async throws -> ListeningPeer {
        try await ListeningPeer(ListeningPeer.python, [Self.script, "AKIDEXAMPLE", "wJalr/XUtnFEMI+K7MDENG"], announcement: "listening on ")
    }

    private func signed(_ base: JSONValue, secret: String = "wJalr/XUtnFEMI+K7MDENG", token: String? = nil) -> JSONValue {
        var signing: [String: JSONValue] = ["provider": .string("aws:amz:us-east-1:ec2"), "access_key": .string("AKIDEXAMPLE"),
                                            "secret": .string(secret)]
        if let token { signing["session_token"] = .string(token) }
        return with(base, ["auth": .object(["aws_sigv4": .object(signing)])])
    }

    @Test func anEC2StyleFormPostIsSignedCorrectly() async throws {
        let server = try await peer()
        let request = with(input("POST", server.base + "/"), [
            "form": .object(["Action": .string("RunInstances"), "Version": .string("2016-11-15"),
                             "ClientToken": .string("run-1/launch/1"), "TagSpecification.1.Tag.1.Value": .string("a b&c=d")]),
        ])
        let result = try await HTTPAtom().execute(signed(request), context: context())
        #expect(result.response?["json"]["verified"] == .bool(true), "\(result.response ?? .null)")
        #expect(result.response?["json"]["service"] == .string("ec2"))
        #expect(result.response?["json"]["body"].interpolated.contains("Action=RunInstances") == true)
    }

    @Test func aQueryStringAndASessionTokenAreSignedToo() async throws {
        let server = try await peer()
        let request = input("GET", server.base + "/", query: ["Action": "DescribeInstances", "Filter.1.Name": "client-token",
                                                               "Filter.1.Value.1": "run/step 1"])
        let result = try await HTTPAtom().execute(signed(request, token: "FwoGZXIvYXdzEXAMPLE"), context: context())
        #expect(result.response?["json"]["verified"] == .bool(true), "\(result.response ?? .null)")
        guard case .array(let names)? = result.response?["json"]["signed"] else {
            Issue.record("no signed headers in \(result.response ?? .null)")
            return
        }
        #expect(names.contains(.string("x-amz-security-token")), "the session token was not signed: \(names)")
    }

    @Test func aWrongSecretIsRefusedByThePeer() async throws {
        let server = try await peer()
        do {
            _ = try await HTTPAtom().execute(signed(input("GET", server.base + "/"), secret: "wrong"), context: context())
            Issue.record("a request signed with the wrong secret was accepted")
        } catch let error as AtomError {
            #expect(error.message.contains("403") && error.changedNothing, "\(error.message)")
        }
    }

    @Test func aProviderFromAValueThatIsNotOneIsRefusedBeforeSending() async throws {
        let request = with(input("GET", "http://127.0.0.1:1/"), [
            "auth": .object(["aws_sigv4": .object(["provider": .string("aws:amz:us-east-1:ec2\nX-Evil: 1"),
                                                   "access_key": .string("k"), "secret": .string("s")])]),
        ])
        do {
            _ = try await HTTPAtom().execute(request, context: context())
            Issue.record("a provider with a line break was used")
        } catch let error as AtomError {
            #expect(error.message.contains("aws:amz:REGION:SERVICE") && error.changedNothing, "\(error.message)")
        }
    }
}
