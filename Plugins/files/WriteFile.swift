import AtomdPluginKit
import Foundation

/// `files.write`: puts `content` at `path`. The file it replaces is kept as
/// a hard link beside it (`.NAME.atomd-prev-HASH`); revert moves it back,
/// or removes the file when there was none (`.NAME.atomd-none-HASH` marks that).
struct WriteFile: Revertible, Checkable {
    struct Input: Codable {
        var path: String
        var content: String
        /// Octal, such as "0640". Default: the replaced file's mode, or 0644.
        var mode: String?
        /// `user` or `user:group`.
        var owner: String?
    }

    struct Output: Codable {
        var path: String
        /// Where the replaced file is kept; nil when there was none.
        var previous: String?
    }

    static let name = "write"
    static let summary = "write a file atomically; revert restores the previous content or removes it"
    static let inputSchema: String? = """
        {"type": "object", "required": ["path", "content"], "additionalProperties": false,
         "properties": {"path": {"type": "string", "description": "absolute path"},
                        "content": {"type": "string"},
                        "mode": {"type": "string", "pattern": "^0?[0-7]{3,4}$"},
                        "owner": {"type": "string", "description": "user or user:group"}}}
        """

    func execute(_ input: Input, call: AtomCall) throws -> Output {
        try FileSystem.requireAbsolute(input.path, "path")
        let requestedMode = try input.mode.map(Self.parseMode)
        let ownership = try input.owner.map(Ownership.init)
        let previous = Sidecar.path(for: input.path, kind: "prev", call: call)
        let none = Sidecar.path(for: input.path, kind: "none", call: call)
        var mode = requestedMode ?? 0o644
        switch FileSystem.kind(input.path) {
        case nil:
            // A retry after this attempt's own write finds the file it made: the marker says so.
            if !FileSystem.exists(previous), !FileSystem.exists(none) { try FileSystem.create(none, [], mode: 0o600) }
        case S_IFREG:
            var info = stat()
            stat(input.path, &info)
            if requestedMode == nil { mode = info.st_mode & 0o7777 }
            if !FileSystem.exists(previous), !FileSystem.exists(none) {
                guard link(input.path, previous) == 0 else { throw FileSystem.failure("cannot keep the current", input.path) }
            }
        default:
            throw AtomFailure("\(input.path) exists and is not a regular file", retryable: false, changedNothing: true)
        }
        let temporary = Sidecar.path(for: input.path, kind: "new", call: call)
        try FileSystem.create(temporary, Array(input.content.utf8), mode: mode)
        if let ownership { try ownership.apply(to: temporary) }
        try FileSystem.rename(temporary, input.path)
        call.log("wrote \(input.content.utf8.count) bytes to \(input.path)")
        return Output(path: input.path, previous: FileSystem.exists(previous) ? previous : nil)
    }

    func revert(_ input: Input, outputs: Output?, call: AtomCall) throws {
        let previous = Sidecar.path(for: input.path, kind: "prev", call: call)
        let none = Sidecar.path(for: input.path, kind: "none", call: call)
        if FileSystem.exists(previous) {
            try FileSystem.rename(previous, input.path)
            call.log("restored the previous \(input.path)")
        } else if FileSystem.exists(none) {
            try FileSystem.remove(input.path)
            try FileSystem.remove(none)
            call.log("removed \(input.path), which did not exist before")
        }
        try FileSystem.remove(Sidecar.path(for: input.path, kind: "new", call: call))
    }

    func check(_ input: Input, outputs: Output?, call: AtomCall) throws -> Presence {
        guard FileSystem.kind(input.path) == S_IFREG, let bytes = FileSystem.read(input.path) else { return .absent }
        return bytes == Array(input.content.utf8) ? .present : .absent
    }

    static func parseMode(_ text: String) throws -> mode_t {
        guard (3...4).contains(text.count), let mode = mode_t(text, radix: 8), mode <= 0o7777 else {
            throw AtomFailure("'mode' must be octal such as \"0644\", not '\(text)'", retryable: false, changedNothing: true)
        }
        return mode
    }
}

/// `user` or `user:group`, looked up now.
struct Ownership {
    var user: uid_t
    var group: gid_t?

    init(_ text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard let name = parts.first, let account = getpwnam(name) else {
            throw AtomFailure("'owner': no user '\(parts.first ?? text)'", retryable: false, changedNothing: true)
        }
        user = account.pointee.pw_uid
        if parts.count == 2 {
            guard let entry = getgrnam(parts[1]) else {
                throw AtomFailure("'owner': no group '\(parts[1])'", retryable: false, changedNothing: true)
            }
            group = entry.pointee.gr_gid
        }
    }

    func apply(to path: String) throws {
        guard chown(path, user, group ?? gid_t.max) == 0 else { throw FileSystem.failure("cannot change the owner of", path) }
    }
}
