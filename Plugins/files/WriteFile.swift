import AtomdPluginKit
import Foundation

/// `files.write`: puts `content` at `path`. The file it replaces is kept as
/// a hard link beside it (`.NAME.atomd-prev-HASH`); revert moves it back,
/// or removes the file when there was none (`.NAME.atomd-none-HASH` marks that).
/// Everything happens relative to the directory, opened without following
/// links (`DirectoryHandle`); owner and mode are set on the new file's
/// descriptor before it is renamed into place.
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
        let (directoryPath, name) = try FileSystem.split(input.path, "path")
        let requestedMode = try input.mode.map(Self.parseMode)
        let ownership = try input.owner.map(Ownership.init)
        let directory = try DirectoryHandle.existing(directoryPath, for: input.path)
        let previous = Sidecar.name(for: name, kind: "prev", call: call)
        let none = Sidecar.name(for: name, kind: "none", call: call)
        var mode = requestedMode ?? 0o644
        switch directory.status(name) {
        case nil:
            // A retry after this attempt's own write finds the file it made: the marker says so.
            if !directory.exists(previous), !directory.exists(none) { try directory.createFile(none, [], mode: 0o600) }
        case let info? where info.st_mode & S_IFMT == S_IFREG:
            if requestedMode == nil { mode = info.st_mode & 0o7777 }
            if !directory.exists(previous), !directory.exists(none) { try directory.link(name, as: previous) }
        default:
            throw AtomFailure("\(input.path) exists and is not a regular file", retryable: false, changedNothing: true)
        }
        let temporary = Sidecar.name(for: name, kind: "new", call: call)
        try directory.createFile(temporary, Array(input.content.utf8), mode: mode,
                                 owner: ownership.map { ($0.user, $0.group) })
        try directory.rename(temporary, to: name)
        call.log("wrote \(input.content.utf8.count) bytes to \(input.path)")
        return Output(path: input.path,
                      previous: directory.exists(previous) ? Sidecar.path(for: input.path, kind: "prev", call: call) : nil)
    }

    func revert(_ input: Input, outputs: Output?, call: AtomCall) throws {
        let (directoryPath, name) = try FileSystem.split(input.path, "path")
        // No directory: nothing this step wrote is there.
        guard let directory = try DirectoryHandle.open(directoryPath, for: input.path) else { return }
        let previous = Sidecar.name(for: name, kind: "prev", call: call)
        let none = Sidecar.name(for: name, kind: "none", call: call)
        if directory.exists(previous) {
            try directory.rename(previous, to: name)
            call.log("restored the previous \(input.path)")
        } else if directory.exists(none) {
            try directory.remove(name)
            try directory.remove(none)
            call.log("removed \(input.path), which did not exist before")
        }
        try directory.remove(Sidecar.name(for: name, kind: "new", call: call))
    }

    func check(_ input: Input, outputs: Output?, call: AtomCall) throws -> Presence {
        let (directoryPath, name) = try FileSystem.split(input.path, "path")
        let expected = Array(input.content.utf8)
        do {
            guard let directory = try DirectoryHandle.open(directoryPath, for: input.path),
                  let bytes = directory.readFile(name, limit: expected.count) else { return .absent }
            return bytes == expected ? .present : .absent
        } catch let refusal as AtomFailure {
            return .unknown(refusal.message)
        }
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
}
