import AtomdEngine
import AtomdSpec
import Foundation

/// The body of `POST /runs/ID/rollback`:
/// `{"to": STEP, "from": STEP, "mode": "token" | "any", "resume": true,
/// "reserve": true, "keep": [STEP, ...]}`; only `to` is required (`reserve` needs `from`). Unknown keys are refused, so that a misspelt
/// `from` is not silently a rollback from somewhere else.
public enum RollbackAsk {
    /// Larger bodies are refused before they are read.
    public static let maxBytes = 4096
    static let keys: Set<String> = ["to", "from", "mode", "resume", "reserve", "keep"]

    /// The request, and whether it is to be reserved.
    public static func decode(_ bytes: [UInt8]) throws(APIError) -> (RollbackRequest, reserve: Bool) {
        let hint = #"send {"to": "STEP", "from": "STEP", "mode": "token", "resume": false}; only "to" is required"#
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)), case .object(let members) = value else {
            throw APIError(.badRequest, "the body is not a JSON object", hint: hint)
        }
        if let unknown = members.keys.sorted().first(where: { !keys.contains($0) }) {
            throw APIError(.badRequest, "unknown key '\(unknown)'", hint: hint)
        }
        guard case .string(let target) = members["to"] ?? .null, !target.isEmpty else {
            throw APIError(.badRequest, "\"to\" must name the step to roll back to", hint: hint)
        }
        var start: String?
        switch members["from"] ?? .null {
        case .null: break
        case .string(let text) where !text.isEmpty: start = text
        default: throw APIError(.badRequest, "\"from\" must name a step", hint: hint)
        }
        var mode = RollbackMode.token
        switch members["mode"] ?? .null {
        case .null: break
        case .string(let text):
            guard let known = RollbackMode(rawValue: text) else {
                throw APIError(.badRequest, "unknown mode '\(text)'", hint: "one of " + RollbackMode.allCases.map(\.rawValue).joined(separator: ", "))
            }
            mode = known
        default: throw APIError(.badRequest, "\"mode\" must be \"token\" or \"any\"", hint: hint)
        }
        var keep: [String] = []
        switch members["keep"] ?? .null {
        case .null: break
        case .array(let items):
            for item in items {
                guard case .string(let id) = item, !id.isEmpty else { throw APIError(.badRequest, "\"keep\" must list step ids", hint: hint) }
                keep.append(id)
            }
        default: throw APIError(.badRequest, "\"keep\" must list step ids", hint: hint)
        }
        let resume = try flag("resume", members, hint: hint), reserve = try flag("reserve", members, hint: hint)
        return (RollbackRequest(target: target, start: start, mode: mode, resume: resume, keep: keep), reserve)
    }

    private static func flag(_ key: String, _ members: [String: JSONValue], hint: String) throws(APIError) -> Bool {
        switch members[key] ?? .null {
        case .null: return false
        case .bool(let flag): return flag
        default: throw APIError(.badRequest, "\"\(key)\" must be true or false", hint: hint)
        }
    }
}
