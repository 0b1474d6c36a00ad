import AtomdPluginKit
import Foundation

/// `files.symlink`: points `path` at `target`, switching atomically (a new
/// link renamed over the old one), so readers see the old target or the
/// new one, never nothing. The old target is kept as a link beside it
/// (`.NAME.atomd-prev-HASH`); revert switches back, or removes the link
/// when there was none. The directories above `path` are opened without
/// following links (`DirectoryHandle`); `path` itself is the one link
/// allowed, being what this atom manages: it is read and replaced, never
/// followed.
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
        let (directoryPath, name) = try FileSystem.split(input.path, "path")
        guard !input.target.isEmpty, !input.target.contains("\0") else {
            throw AtomFailure("'target' must not be empty", retryable: false, changedNothing: true)
        }
        let directory = try DirectoryHandle.existing(directoryPath, for: input.path)
        let previous = Sidecar.name(for: name, kind: "prev", call: call)
        let none = Sidecar.name(for: name, kind: "none", call: call)
        switch directory.kind(name) {
        case nil:
            if !directory.exists(previous), !directory.exists(none) { try directory.createFile(none, [], mode: 0o600) }
        case S_IFLNK:
            if !directory.exists(previous), !directory.exists(none), let old = directory.readLink(name) {
                try directory.makeLink(previous, to: old)
            }
        default:
            throw AtomFailure("\(input.path) exists and is not a symlink", retryable: false, changedNothing: true)
        }
        try Self.switchLink(name, in: directory, to: input.target, call: call)
        call.log("\(input.path) -> \(input.target)")
        return Output(path: input.path, previousTarget: directory.readLink(previous))
    }

    func revert(_ input: Input, outputs: Output?, call: AtomCall) throws {
        let (directoryPath, name) = try FileSystem.split(input.path, "path")
        // No directory: no link of this step's is there.
        guard let directory = try DirectoryHandle.open(directoryPath, for: input.path) else { return }
        let previous = Sidecar.name(for: name, kind: "prev", call: call)
        let none = Sidecar.name(for: name, kind: "none", call: call)
        if let old = directory.readLink(previous) {
            try Self.switchLink(name, in: directory, to: old, call: call)
            try directory.remove(previous)
            call.log("\(input.path) -> \(old) again")
        } else if directory.exists(none) {
            if directory.kind(name) == S_IFLNK { try directory.remove(name) }
            try directory.remove(none)
            call.log("removed \(input.path), which did not exist before")
        }
    }

    func check(_ input: Input, outputs: Output?, call: AtomCall) throws -> Presence {
        let (directoryPath, name) = try FileSystem.split(input.path, "path")
        do {
            guard let directory = try DirectoryHandle.open(directoryPath, for: input.path) else { return .absent }
            return directory.readLink(name) == input.target ? .present : .absent
        } catch let refusal as AtomFailure {
            return .unknown(refusal.message)
        }
    }

    /// A new link beside `name`, renamed over it.
    private static func switchLink(_ name: String, in directory: DirectoryHandle, to target: String, call: AtomCall) throws {
        let temporary = Sidecar.name(for: name, kind: "new", call: call)
        try directory.makeLink(temporary, to: target)
        try directory.rename(temporary, to: name)
    }
}
