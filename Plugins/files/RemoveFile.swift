import AtomdPluginKit
import Foundation

/// `files.remove`: moves `path` into a trash directory on the same file
/// system (default `DIR/.atomd-trash`), so that revert can put it back.
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
        try FileSystem.requireAbsolute(input.path, "path")
        let trashed = try trashPath(input, call: call)
        guard FileSystem.exists(input.path) else {
            call.log("\(input.path) does not exist: nothing to remove")
            return Output(path: input.path, trashed: FileSystem.exists(trashed) ? trashed : nil)
        }
        let directory = (trashed as NSString).deletingLastPathComponent
        guard mkdir(directory, 0o700) == 0 || errno == EEXIST else { throw FileSystem.failure("cannot create the trash", directory) }
        guard !FileSystem.exists(trashed) else {
            throw AtomFailure("\(trashed) is already taken: an earlier attempt of this step moved something there", retryable: false)
        }
        try FileSystem.rename(input.path, trashed)
        call.log("moved \(input.path) to \(trashed)")
        return Output(path: input.path, trashed: trashed)
    }

    func revert(_ input: Input, outputs: Output?, call: AtomCall) throws {
        let trashed = try trashPath(input, call: call)
        guard FileSystem.exists(trashed) else { return }
        guard !FileSystem.exists(input.path) else {
            throw AtomFailure("cannot restore \(input.path): something new is there; the removed file is in \(trashed)", retryable: false)
        }
        try FileSystem.rename(trashed, input.path)
        call.log("restored \(input.path)")
        // The default trash was made for this: once empty, it goes too
        // (rmdir leaves it when another step's file is still in it).
        if input.trash == nil { rmdir((trashed as NSString).deletingLastPathComponent) }
    }

    func check(_ input: Input, outputs: Output?, call: AtomCall) throws -> Presence {
        FileSystem.exists(input.path) ? .absent : .present
    }

    /// `TRASH/HASH-NAME`: one place per run and step.
    private func trashPath(_ input: Input, call: AtomCall) throws -> String {
        let directory = input.trash ?? ((input.path as NSString).deletingLastPathComponent + "/.atomd-trash")
        try FileSystem.requireAbsolute(directory, "trash")
        return "\(directory)/\(Sidecar.stepHash(call))-\((input.path as NSString).lastPathComponent)"
    }
}
