import AtomdPluginKit
import Foundation

/// `files.extract`: unpacks a .tar.gz into a directory without replacing
/// anything that is there. What it adds is listed first in a manifest beside
/// the directory (`.DIR.atomd-extract-HASH`), so that revert removes exactly
/// that, even after an interruption.
///
/// tar follows links already in a directory it extracts into (`bin -> /root`
/// turns `bin/app` into `/root/app`), and the directory may be another
/// user's. So tar unpacks into a staging directory of atomd's own
/// (`DIR/.atomd-stage-HASH`, 0700), which it enters through the descriptor
/// that made it, and the entries are then moved into place fd-relative,
/// never through a link (`DirectoryHandle`).
struct ExtractArchive: Revertible, Checkable {
    struct Input: Codable {
        var archive: String
        var directory: String
    }

    struct Output: Codable {
        var directory: String
        /// Paths added, relative to the directory, parents before children.
        var added: [String]
    }

    static let name = "extract"
    static let summary = "unpack a .tar.gz into a directory, replacing nothing; revert removes what it added"
    static let inputSchema: String? = """
        {"type": "object", "required": ["archive", "directory"], "additionalProperties": false,
         "properties": {"archive": {"type": "string", "description": "absolute path of a .tar.gz"},
                        "directory": {"type": "string", "description": "absolute path; created if missing"}}}
        """

    /// A manifest lists one line of `tar --list` per entry at most.
    static let manifestLimit = 64 << 20

    func execute(_ input: Input, call: AtomCall) throws -> Output {
        let archive = try Self.openArchive(input.archive)
        defer { close(archive) }
        let entries = try Self.list(archive, input.archive)
        let (parentPath, name) = try FileSystem.split(input.directory, "directory")
        let parent = try DirectoryHandle.existing(parentPath, for: input.directory)
        let manifest = Sidecar.name(for: name, kind: "extract", call: call)
        var added: [String]
        if let recorded = Self.readManifest(parent, manifest) {
            added = recorded
        } else {
            let existing = try parent.directory(name, for: input.directory)
            added = existing == nil ? ["."] : []
            // An entry below a link is refused here, before anything changes.
            added += try entries.filter { try !Self.exists($0, in: existing, for: input.directory) }
            try parent.createFile(manifest, Array((try? JSONEncoder().encode(added)) ?? Data("[]".utf8)), mode: 0o600)
            parent.sync()
        }
        try parent.makeDirectory(name, mode: 0o755)
        guard let directory = try parent.directory(name, for: input.directory) else {
            throw AtomFailure("cannot use \(input.directory): it vanished as it was made")
        }
        call.log("extracting \(entries.count) entries into \(input.directory)")
        let staging = try Self.stage(in: directory, call: call)
        // Kept open until tar is done: tar finds the directory through its descriptor.
        let result = withExtendedLifetime(staging) {
            Tar.run(["--extract", "--gzip", "--file", "-", "--keep-old-files", "--no-same-owner"],
                    input: archive, directory: staging.descriptor)
        }
        var conflicts: [String] = []
        if result.status == 0 {
            // What tar, as root, made from the archive's modes: a setuid
            // copy of a shell, a 0666 device node. Settled before anything
            // is moved where the directory's owner can reach it.
            let refused = try Self.defuse(staging)
            guard refused.isEmpty else {
                try directory.removeTree(Self.stagingName(call))
                throw AtomFailure("\(input.archive) holds what atomd does not extract (devices, FIFOs, sockets): "
                    + refused.joined(separator: ", "), retryable: false)
            }
            try Self.move(from: staging, into: directory, conflicts: &conflicts)
        }
        try directory.removeTree(Self.stagingName(call))
        directory.sync()
        guard result.status == 0 else {
            throw AtomFailure("tar could not extract \(input.archive): \(result.errors)", retryable: false)
        }
        guard conflicts.isEmpty else {
            throw AtomFailure("cannot extract \(input.archive) into \(input.directory) without replacing what is there: "
                + conflicts.joined(separator: "; "), retryable: false)
        }
        return Output(directory: input.directory, added: added)
    }

    /// Removes what the manifest lists, children first, each from its own
    /// directory opened without following links. An entry under a link (a
    /// directory the directory's owner swapped for one) is never deleted
    /// through it: the revert removes the rest, says so in the step's log,
    /// fails naming it, and keeps the manifest so that it can run again once
    /// an operator has looked.
    func revert(_ input: Input, outputs: Output?, call: AtomCall) throws {
        let (parentPath, name) = try FileSystem.split(input.directory, "directory")
        guard let parent = try DirectoryHandle.open(parentPath, for: input.directory) else { return }
        let manifest = Sidecar.name(for: name, kind: "extract", call: call)
        guard let added = outputs?.added ?? Self.readManifest(parent, manifest) else { return }
        var refused: [String] = []
        if let directory = try parent.directory(name, for: input.directory) {
            try directory.removeTree(Self.stagingName(call))
            // What the extraction made as directories: the parents of what it added.
            let madeDirectories = Set(added.map { $0.split(separator: "/").dropLast().joined(separator: "/") })
            // Children before parents; a directory that has gained other files stays.
            for relative in added.sorted(by: { $0.count > $1.count }) where relative != "." {
                do {
                    try Self.remove(relative, from: directory, madeDirectory: madeDirectories.contains(relative), for: input.directory)
                } catch let failure as AtomFailure {
                    call.log("not removed: \(failure.message)")
                    refused.append(failure.message)
                }
            }
            directory.sync()
        }
        guard refused.isEmpty else {
            throw AtomFailure("revert of the extraction into \(input.directory) left what it could not remove safely: "
                + refused.joined(separator: "; ") + "; the manifest \(parent.joined(manifest)) is kept for another revert")
        }
        try parent.remove(manifest)
        if added.contains(".") { try parent.removeDirectory(name) }
        parent.sync()
        call.log("removed \(added.count) entries from \(input.directory)")
    }

    func check(_ input: Input, outputs: Output?, call: AtomCall) throws -> Presence {
        do {
            try FileSystem.requireAbsolute(input.directory, "directory")
            let archive = try Self.openArchive(input.archive)
            defer { close(archive) }
            let entries = try Self.list(archive, input.archive)
            guard let directory = try DirectoryHandle.open(input.directory, for: input.directory) else { return .absent }
            return try entries.allSatisfy { try Self.exists($0, in: directory, for: input.directory) } ? .present : .absent
        } catch let failure as AtomFailure {
            return .unknown(failure.message)
        }
    }

    /// The archive, opened without following links; tar reads it on its standard input.
    static func openArchive(_ path: String) throws -> Int32 {
        let (directoryPath, name) = try FileSystem.split(path, "archive")
        let directory = try DirectoryHandle.existing(directoryPath, for: path)
        guard let fd = try directory.openFile(name, for: path) else {
            throw AtomFailure("cannot read \(path): it does not exist", retryable: false, changedNothing: true)
        }
        return fd
    }

    /// The archive's entries, refusing any that would land outside the directory.
    static func list(_ archive: Int32, _ path: String) throws -> [String] {
        let result = Tar.run(["--list", "--gzip", "--file", "-"], input: archive)
        guard result.status == 0 else {
            throw AtomFailure("cannot read \(path): \(result.errors)", retryable: false, changedNothing: true)
        }
        var entries: [String] = []
        for line in result.output.split(separator: "\n") {
            let entry = line.hasSuffix("/") ? String(line.dropLast()) : String(line)
            let parts = entry.split(separator: "/")
            guard !entry.hasPrefix("/"), !parts.contains("..") else {
                throw AtomFailure("\(path) has an entry outside its directory: \(entry)", retryable: false, changedNothing: true)
            }
            let clean = parts.filter { $0 != "." }.joined(separator: "/")
            if !clean.isEmpty { entries.append(clean) }
        }
        return entries
    }

    /// Whether `relative` is in `directory` (nothing is in a missing one);
    /// a link on the way there is refused.
    static func exists(_ relative: String, in directory: DirectoryHandle?, for target: String) throws -> Bool {
        let parts = relative.split(separator: "/").map(String.init)
        guard let directory, let last = parts.last,
              let holder = try directory.directory(parts.dropLast().joined(separator: "/"), for: target) else { return false }
        return holder.exists(last)
    }

    static func readManifest(_ parent: DirectoryHandle, _ name: String) -> [String]? {
        guard let bytes = parent.readFile(name, limit: manifestLimit) else { return nil }
        return try? JSONDecoder().decode([String].self, from: Data(bytes))
    }
}
