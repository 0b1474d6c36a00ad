import AtomdEngine
import AtomdSpec

/// A plugin's atom as the engine sees it: `PLUGIN.ATOM`, whatever the
/// isolation. Replies become results, check answers and `AtomError`s.
public struct PluginAtom: Atom {
    public let plugin: String
    public let descriptor: AtomDescriptor
    let connection: any PluginConnection

    public var name: String { "\(plugin).\(descriptor.name)" }

    public var capabilities: AtomCapabilities {
        var capabilities: AtomCapabilities = []
        if descriptor.canRevert { capabilities.insert(.revert) }
        if descriptor.canCheck { capabilities.insert(.check) }
        return capabilities
    }

    public func execute(_ input: JSONValue, context: AtomContext) async throws -> AtomResult {
        let reply = await call(.execute, input, outputs: nil, context)
        guard reply.status == .ok else { throw error(from: reply, doing: "execute") }
        guard let response = reply.response else { return AtomResult() }
        guard case .object(let members) = response else {
            throw AtomError("\(name) returned \(response.json.prefix(100)), not an object with outputs")
        }
        let outputs = members["outputs"] ?? .object([:])
        guard case .object = outputs else { throw AtomError("\(name) returned outputs that are not an object") }
        return AtomResult(outputs: outputs, oldState: members["old_state"], newState: members["new_state"])
    }

    public func revert(_ input: JSONValue, outputs: JSONValue?, context: AtomContext) async throws {
        let reply = await call(.revert, input, outputs: outputs, context)
        guard reply.status == .ok else { throw error(from: reply, doing: "revert") }
    }

    public func check(_ input: JSONValue, outputs: JSONValue?, context: AtomContext) async throws -> CheckResult {
        let reply = await call(.check, input, outputs: outputs, context)
        switch reply.status {
        case .ok: return .present(outputs: reply.response?["outputs"].nonNull)
        case .absent: return .absent
        case .unknown: return .unknown(message(of: reply) ?? "the plugin could not tell")
        case .failed: throw error(from: reply, doing: "check")
        }
    }

    private func call(_ operation: PluginOperation, _ input: JSONValue, outputs: JSONValue?, _ context: AtomContext) async -> PluginReply {
        let request = PluginRequest(operation: operation, atom: descriptor.name, input: input, outputs: outputs, runID: context.runID,
                                    stepPath: context.stepPath, attempt: context.attempt, idempotencyKey: context.idempotencyKey)
        let sink = CallSink(log: { context.log($0) }, progress: { context.progress($0, $1) })
        let reply = await connection.call(request, sink: sink)
        try? Task.checkCancellation()
        return reply
    }

    private func message(of reply: PluginReply) -> String? {
        if case .string(let text) = reply.response?["message"] { return text }
        return nil
    }

    private func error(from reply: PluginReply, doing operation: String) -> AtomError {
        let response = reply.response
        return AtomError(message(of: reply) ?? "\(name) \(operation) failed",
                         retryable: response?["retryable"] != .bool(false),
                         changedNothing: response?["changed_nothing"] == .bool(true))
    }
}

extension JSONValue {
    var nonNull: JSONValue? { self == .null ? nil : self }
}
