import AtomdPluginKit
import Foundation

/// `files.symlink`: points `path` at `target`, switching atomically (a new
/// link renamed over the old one), so readers see the old target or the
/// new one, never nothing. The old target is kept as a link beside it
/// (`.NAME.atomd-prev-HASH`); revert switches back, or removes the link
/// when there was none.
struct SwitchSymlink: Revertible, Checkable {
    struct Input: Codable {
        var path: String
        var target: String
    }

    struct Output: Codable {
        var path: String
        /// The target before the switch; nil when there was no link.
        var previousTarget: String?
    }

    static let name = "symlink"
    static let summary = "switch a symlink atomically; revert switches it back"
    static let inputSchema: String? = """
        {"type": "object", "required": ["path", "target"], "additionalProperties": false,
         "properties": {"path": {"type": "string", "description": "absolute path of the link"},
                        "target": {"type": "string", "description": "what the link points to"}}}
        """

    func execute(_ input: Input, call: AtomCall) throws -> Output {
        try FileSystem.requireAbsolute(input.path, "path")
        guard !input.target.isEmpty, !input.target.contains("\0") else {
            throw AtomFailure("'target' must not be empty", retryable: false, changedNothing: true)
        }
        let previous = Sidecar.path(for: input.path, kind: "prev", call: call)
        let none = Sidecar.path(for: input.path, kind: "none", call: call)
        switch FileSystem.kind(input.path) {
        case nil:
            if !FileSystem.exists(previous), !FileSystem.exists(none) { try FileSystem.create(none, [], mode: 0o600) }
        case S_IFLNK:
            if !FileSystem.exists(previous), !FileSystem.exists(none), let old = Self.target(of: input.path) {
                try Self.link(previous, to: old)
            }
        default:
            throw AtomFailure("\(input.path) exists and is not a symlink", retryable: false, changedNothing: true)
        }
        try Self.switchLink(input.path, to: input.target, call: call)
        call.log("\(input.path) -> \(input.target)")
        return Output(path: input.path, previousTarget: Self.target(of: previous))
    }

    func revert(_ input: Input, outputs: Output?, call: AtomCall) throws {
        let previous = Sidecar.path(for: input.path, kind: "prev", call: call)
        let none = Sidecar.path(for: input.path, kind: "none", call: call)
        if let old = Self.target(of: previous) {
            try Self.switchLink(input.path, to: old, call: call)
            try FileSystem.remove(previous)
            call.log("\(input.path) -> \(old) again")
        } else if FileSystem.exists(none) {
            if FileSystem.kind(input.path) == S_IFLNK { try FileSystem.remove(input.path) }
            try FileSystem.remove(none)
            call.log("removed \(input.path), which did not exist before")
        }
    }

    func check(_ input: Input, outputs: Output?, call: AtomCall) throws -> Presence {
        Self.target(of: input.path) == input.target ? .present : .absent
    }

    static func target(of path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func link(_ path: String, to target: String) throws {
        try FileSystem.remove(path)
        guard symlink(target, path) == 0 else { throw FileSystem.failure("cannot create the link", path) }
    }

    private static func switchLink(_ path: String, to target: String, call: AtomCall) throws {
        let temporary = Sidecar.path(for: path, kind: "new", call: call)
        try link(temporary, to: target)
        try FileSystem.rename(temporary, path)
    }
}
