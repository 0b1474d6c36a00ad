import AtomdSpec
import Foundation

/// How an operator rollback treats the steps it goes back over (DESIGN.md
/// section 4, "Operator rollback").
public enum RollbackMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// Revert each step from the start back to the target, newest first,
    /// target included, in one scope.
    case token
    /// Jump back to any earlier succeeded step without reverting anything:
    /// the operator says the world is already as it was.
    case any
}

/// What the operator asks for.
public struct RollbackRequest: Sendable, Hashable, Codable {
    /// The step to go back to; it runs again.
    public var target: String
    /// The step to go back from (TOKEN mode); nil: the last step that ran in
    /// the target's scope.
    public var start: String?
    public var mode: RollbackMode
    /// Go on after the rollback instead of pausing (`--resume`); the job's
    /// `rollback: { auto_resume: true }` does the same.
    public var resume: Bool
    /// Steps on the path to keep in place (TOKEN, `--keep`): not reverted,
    /// not run again.
    public var keep: [String]

    public init(target: String, start: String? = nil, mode: RollbackMode = .token, resume: Bool = false, keep: [String] = []) {
        self.target = target
        self.start = start
        self.mode = mode
        self.resume = resume
        self.keep = keep
    }

    enum CodingKeys: String, CodingKey {
        case target, start, mode, resume, keep
    }

    /// Journals written before `keep` existed decode with none.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        target = try container.decode(String.self, forKey: .target)
        start = try container.decodeIfPresent(String.self, forKey: .start)
        mode = try container.decode(RollbackMode.self, forKey: .mode)
        resume = try container.decode(Bool.self, forKey: .resume)
        keep = try container.decodeIfPresent([String].self, forKey: .keep) ?? []
    }
}

extension RollbackRequest {
    /// The request the rules plan. A reservation's `start` is the step it
    /// waits for: in TOKEN mode also the step to go back from, in ANY mode
    /// nothing more (ANY goes back from wherever the run is).
    var planned: RollbackRequest {
        var request = self
        if mode == .any { request.start = nil }
        return request
    }
}

/// A rollback the rules allowed: what it reverts (TOKEN) and what it makes
/// pending again. Journaled before anything of it happens, so that a
/// restart finishes it exactly once.
public struct RollbackPlan: Sendable, Hashable, Codable {
    public var mode: RollbackMode
    public var target: String
    public var start: String
    /// The steps reverted, newest first (TOKEN); empty in ANY mode.
    public var reverts: [String]
    /// Every step whose record is cleared, groups before their steps.
    public var resets: [String]
    /// Whether the run goes on after it.
    public var resume: Bool
    /// Steps on the path kept in place: neither reverted nor reset.
    public var kept: [String] = []

    enum CodingKeys: String, CodingKey {
        case mode, target, start, reverts, resets, resume, kept
    }

    init(mode: RollbackMode, target: String, start: String, reverts: [String], resets: [String], resume: Bool, kept: [String] = []) {
        self.mode = mode
        self.target = target
        self.start = start
        self.reverts = reverts
        self.resets = resets
        self.resume = resume
        self.kept = kept
    }

    /// Journals written before `kept` existed decode with none.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        mode = try container.decode(RollbackMode.self, forKey: .mode)
        target = try container.decode(String.self, forKey: .target)
        start = try container.decode(String.self, forKey: .start)
        reverts = try container.decode([String].self, forKey: .reverts)
        resets = try container.decode([String].self, forKey: .resets)
        resume = try container.decode(Bool.self, forKey: .resume)
        kept = try container.decodeIfPresent([String].self, forKey: .kept) ?? []
    }
}

/// Why a rollback is not allowed: the rule that failed and what would make
/// the request allowed.
public struct RollbackRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    /// A short name of the rule, as docs/engine.md lists them.
    public var rule: String
    public var message: String
    public var hint: String

    public init(rule: String, _ message: String, hint: String) {
        self.rule = rule
        self.message = message
        self.hint = hint
    }

    public var description: String { "\(message) (rule: \(rule)); \(hint)" }
}

/// One step as a rollback target: allowed, or the reason it is not.
public struct RollbackTarget: Sendable, Hashable, Codable {
    public var step: String
    public var path: String
    public var allowed: Bool
    /// Why not, with what would make it allowed; nil when allowed.
    public var reason: String?
}

/// A plan, or a reserved request, as journaled in a note's data.
protocol JournaledValue: Codable {}

extension JournaledValue {
    var journaled: JSONValue {
        let encoded = (try? JSONEncoder().encode(self)).flatMap { try? JSONDecoder().decode(JSONValue.self, from: $0) }
        return encoded ?? .null
    }

    init?(journaled value: JSONValue?) {
        guard let value, value != .null, let data = try? JSONEncoder().encode(value),
              let decoded = try? JSONDecoder().decode(Self.self, from: data) else { return nil }
        self = decoded
    }
}

extension RollbackPlan: JournaledValue {}
extension RollbackRequest: JournaledValue {}
