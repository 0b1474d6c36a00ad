import AtomdPluginKit
import Foundation

/// `files.remove`: moves `path` into a trash directory on the same file
/// system (default `DIR/.atomd-trash`), so that revert can put it back.
/// Both directories are opened without following links
/// (`DirectoryHandle`), and the move is a `renameat` between them: `path`
/// itself may be a link, which is moved, never followed.
struct RemoveFile: Revertible, Checkable {
    struct Input: Codable {
        var path: String
        /// Must be on the same file system as `path`.
        var trash: String?
    }

    struct Output: Codable {
        var path: String
        /// Where the file went; nil when there was nothing to remove.
        var trashed: String?
    }

    static let name = "remove"
    static let summary = "move a file or directory into a trash directory; revert restores it"
    static let inputSchema: String? = """
        {"type": "object", "required": ["path"], "additionalProperties": false,
         "properties": {"path": {"type": "string", "description": "absolute path"},
                        "trash": {"type": "string", "description": "trash directory on the same file system"}}}
        """

    func execute(_ input: Input, call: AtomCall) throws -> Output {
        let (directoryPath, name) = try FileSystem.split(input.path, "path")
        let trash = try Trash(input, call: call)
        let directory = try DirectoryHandle.open(directoryPath, for: input.path)
        guard let directory, directory.exists(name) else {
            call.log("\(input.path) does not exist: nothing to remove")
            let earlier = try DirectoryHandle.open(trash.path, for: trash.path).map { $0.exists(trash.entry) } ?? false
            return Output(path: input.path, trashed: earlier ? trash.trashed : nil)
        }
        let parent = try DirectoryHandle.existing(trash.parent, for: trash.path)
        try parent.makeDirectory(trash.name, mode: 0o700)
        guard let bin = try parent.directory(trash.name, for: trash.path) else {
            throw AtomFailure("cannot use the trash \(trash.path): it vanished as it was made")
        }
        guard !bin.exists(trash.entry) else {
            throw AtomFailure("\(trash.trashed) is already taken: an earlier attempt of this step moved something there", retryable: false)
        }
        try directory.rename(name, to: trash.entry, in: bin)
        directory.sync()
        call.log("moved \(input.path) to \(trash.trashed)")
        return Output(path: input.path, trashed: trash.trashed)
    }

    func revert(_ input: Input, outputs: Output?, call: AtomCall) throws {
        let (directoryPath, name) = try FileSystem.split(input.path, "path")
        let trash = try Trash(input, call: call)
        guard let parent = try DirectoryHandle.open(trash.parent, for: trash.path),
              let bin = try parent.directory(trash.name, for: trash.path), bin.exists(trash.entry) else { return }
        let directory = try DirectoryHandle.existing(directoryPath, for: input.path)
        guard !directory.exists(name) else {
            throw AtomFailure("cannot restore \(input.path): something new is there; the removed file is in \(trash.trashed)", retryable: false)
        }
        try bin.rename(trash.entry, to: name, in: directory)
        bin.sync()
        call.log("restored \(input.path)")
        // The default trash was made for this: once empty, it goes too
        // (it stays while another step's file is still in it).
        if input.trash == nil { try parent.removeDirectory(trash.name) }
    }

    func check(_ input: Input, outputs: Output?, call: AtomCall) throws -> Presence {
        let (directoryPath, name) = try FileSystem.split(input.path, "path")
        do {
            guard let directory = try DirectoryHandle.open(directoryPath, for: input.path) else { return .present }
            return directory.exists(name) ? .absent : .present
        } catch let refusal as AtomFailure {
            return .unknown(refusal.message)
        }
    }

    /// `TRASH/HASH-NAME`: one place per run and step.
    private struct Trash {
        /// The trash directory, its parent and its name there.
        var path: String
        var parent: String
        var name: String
        /// The removed file's name in it, and its whole path.
        var entry: String
        var trashed: String

        init(_ input: Input, call: AtomCall) throws {
            let (directory, name) = try FileSystem.split(input.path, "path")
            path = input.trash ?? (directory == "/" ? "/.atomd-trash" : directory + "/.atomd-trash")
            (parent, self.name) = try FileSystem.split(path, "trash")
            entry = "\(Sidecar.stepHash(call))-\(name)"
            trashed = "\(path)/\(entry)"
        }
    }
}
