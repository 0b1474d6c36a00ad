import AtomdHTTP
import AtomdSpec
import Foundation

/// moto's EC2 emulator (`moto[server]` from PyPI, in the virtual
/// environment scripts/setup makes), on 127.0.0.1 with a free port, for
/// tests that look at the cloud after a run: what exists, what is gone.
public final class MotoEC2: Sendable {
    let peer: ListeningPeer
    let client = HTTPClient()
    /// With a trailing slash, as the job's `endpoint` var takes it.
    public var endpoint: String { peer.base + "/" }

    public init() async throws {
        let server = ListeningPeer.python.deletingLastPathComponent().appendingPathComponent("moto_server")
        peer = try await ListeningPeer(server, ["-H", "127.0.0.1", "-p", "0"], announcement: "Running on ")
    }

    /// The environment the job's secrets are read from.
    public static let credentials = ["AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"]

    /// One signed Query API call; the answer's text.
    public func call(_ action: String, _ fields: [String: String] = [:]) async throws -> String {
        let form = fields.merging(["Action": action, "Version": "2016-11-15"]) { $1 }
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let body = form.keys.sorted().map { key in
            "\(key)=\(form[key]?.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }.joined(separator: "&")
        let response = try await client.send(HTTPRequest(
            method: "POST", url: endpoint, headers: [("Content-Type", "application/x-www-form-urlencoded")],
            body: Array(body.utf8), awsSigV4: .init(provider: "aws:amz:us-east-1:ec2", accessKey: "test", secret: "test")))
        return String(decoding: response.body, as: UTF8.self)
    }

    /// Values an XPath expression selects from `text`.
    public static func select(_ text: String, _ xpath: String) throws -> [String] {
        let source = "xpath(response.text, '\(xpath)')"
        let evaluator = ExpressionEvaluator(contexts: ["response": .object(["text": .string(text)])])
        let value = try evaluator.evaluate(Expression(source: source, root: try ExpressionParser.parse(source), location: .start))
        guard case .array(let items) = value else { return [value.interpolated] }
        return items.map(\.interpolated)
    }

    /// Instances not terminated (or shutting down), by id.
    public func liveInstances() async throws -> [String] {
        let text = try await call("DescribeInstances")
        return try Self.select(text, "//ns:instancesSet/ns:item[ns:instanceState/ns:name != \"terminated\" and "
                               + "ns:instanceState/ns:name != \"shutting-down\"]/ns:instanceId")
    }

    /// The atomd-key tags of those instances: which run and attempt made each.
    public func liveInstanceKeys() async throws -> [String] {
        let text = try await call("DescribeInstances")
        return try Self.select(text, "//ns:instancesSet/ns:item[ns:instanceState/ns:name = \"running\" or "
                               + "ns:instanceState/ns:name = \"pending\"]/ns:tagSet/ns:item[ns:key = \"atomd-key\"]/ns:value")
    }

    /// Volumes, with their atomd-key tag ("" for a root volume).
    public func volumes() async throws -> [String] {
        try Self.select(try await call("DescribeVolumes"), "//ns:volumeSet/ns:item/ns:volumeId")
    }

    public func volumeKeys() async throws -> [String] {
        try Self.select(try await call("DescribeVolumes"), "//ns:volumeSet/ns:item/ns:tagSet/ns:item[ns:key = \"atomd-key\"]/ns:value")
    }
}
