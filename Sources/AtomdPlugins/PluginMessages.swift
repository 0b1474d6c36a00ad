import AtomdSpec

/// The three calls an atom answers.
public enum PluginOperation: String, Sendable, Codable {
    case execute, revert, check
}

/// One atom call as both isolation modes carry it: the plugin host receives
/// it in a frame, the in-process path hands it straight to the handler.
public struct PluginRequest: Sendable, Hashable, Codable {
    public var operation: PluginOperation
    /// The atom's name within the plugin.
    public var atom: String
    public var input: JSONValue
    /// What execute returned, for revert and check; nil when none were recorded.
    public var outputs: JSONValue?
    public var runID: String
    public var stepPath: String
    public var attempt: Int
    public var idempotencyKey: String

    public init(operation: PluginOperation, atom: String, input: JSONValue, outputs: JSONValue?, runID: String,
                stepPath: String, attempt: Int, idempotencyKey: String) {
        self.operation = operation
        self.atom = atom
        self.input = input
        self.outputs = outputs
        self.runID = runID
        self.stepPath = stepPath
        self.attempt = attempt
        self.idempotencyKey = idempotencyKey
    }
}

/// The plugin's answer: its status and the JSON it returned, already parsed.
public struct PluginReply: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Codable {
        case ok, failed, absent, unknown
    }

    public var status: Status
    /// The response document; for failures a text that is not JSON becomes `{"message": text}`.
    public var response: JSONValue?

    public init(status: Status, response: JSONValue?) {
        self.status = status
        self.response = response
    }

    /// A failure the plugin did not report itself (a crash, a broken answer).
    static func failure(_ message: String, retryable: Bool = true) -> PluginReply {
        PluginReply(status: .failed, response: .object(["message": .string(message), "retryable": .bool(retryable)]))
    }
}
