import ArgumentParser
import AtomdAgent
import AtomdHTTP
import Foundation

/// `--socket`: where a running agent answers. Default: HOME/atomd.sock, or
/// the system agent's /run/atomd/atomd.sock when the home has none.
struct SocketOption: ParsableArguments {
    @Option(help: ArgumentHelp("The agent's control socket. Default: HOME/atomd.sock, else /run/atomd/atomd.sock.",
                               valueName: "path"))
    var socket: String?

    func path(home: String) -> String {
        if let socket { return socket }
        let own = home + "/atomd.sock"
        let system = "/run/atomd/atomd.sock"
        return !FileManager.default.fileExists(atPath: own) && FileManager.default.fileExists(atPath: system) ? system : own
    }
}

/// The CLI's side of the control API: HTTP over the agent's Unix socket
/// through libcurl.
struct AgentClient {
    let socket: String

    enum Failure: Error {
        /// No agent answers on the socket.
        case unavailable(String)
        /// An agent is there, and this user may not use its socket.
        case forbidden(String)
        /// The agent answered with an error.
        /// `rule`: the rule that refused it, when the agent names one (it
        /// holds the run, and what was asked cannot apply now).
        case refused(status: Int, message: String, rule: String?)
    }

    func get(_ path: String) async throws(Failure) -> [UInt8] {
        try await send("GET", path, body: nil)
    }

    func post(_ path: String, body: [UInt8] = []) async throws(Failure) -> [UInt8] {
        try await send("POST", path, body: body)
    }

    /// What stops this user from reaching the socket, as a failure.
    private static func failure(_ socket: String, _ known: String? = nil) -> Failure {
        let problem = known ?? SocketAccess.problem(socket) ?? "no agent socket at \(socket)"
        return problem.contains("may not") ? .forbidden(problem) : .unavailable(problem)
    }

    func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try APIJSON.decoder().decode(type, from: Data(bytes))
    }

    private func send(_ method: String, _ path: String, body: [UInt8]?) async throws(Failure) -> [UInt8] {
        guard FileManager.default.fileExists(atPath: socket) else { throw Self.failure(socket) }
        let request = HTTPRequest(method: method, url: "http://atomd" + path, headers: [("Content-Type", "application/json")],
                                  body: body, timeout: .seconds(30), connectTimeout: .seconds(5), unixSocket: socket)
        let response: HTTPResponse
        do {
            response = try await HTTPClient().send(request)
        } catch {
            if let problem = SocketAccess.problem(socket) { throw Self.failure(socket, problem) }
            throw .unavailable("no agent answers on \(socket) (\(error))")
        }
        guard (200..<300).contains(response.status) else {
            let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
            var message = object?["error"] as? String ?? String(decoding: response.body, as: UTF8.self)
            if let rule = object?["rule"] as? String { message += " [rule: \(rule)]" }
            if let hint = object?["hint"] as? String { message += " (\(hint))" }
            for problem in object?["problems"] as? [[String: Any]] ?? [] {
                message += "\n  \(problem["line"] ?? "?"):\(problem["column"] ?? "?"): \(problem["message"] ?? "")"
            }
            throw .refused(status: response.status, message: message, rule: object?["rule"] as? String)
        }
        return response.body
    }
}

extension AgentClient.Failure {
    /// Prints why and gives the exit code: 4 when no agent answers, 2 when it refused.
    var exit: ExitCode {
        switch self {
        case .unavailable(let reason):
            Output.error("error: \(reason); is `atomd agent` running? (`systemctl status atomd`)")
            return AtomdExit.unavailable.code
        case .forbidden(let reason):
            Output.error("error: \(reason)")
            return AtomdExit.usage.code
        case .refused(let status, let message, _):
            Output.error("error: the agent refused (\(status)): \(message)")
            return AtomdExit.usage.code
        }
    }
}
