import AtomdPluginKit
import Foundation
import Synchronization

/// `files.extract`: unpacks a .tar.gz into a directory without replacing
/// anything that is there. What it adds is listed first in a manifest beside
/// the directory's entries (`DIR/.atomd-extract-HASH`), so that revert
/// removes exactly that, even after an interruption.
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

    func execute(_ input: Input, call: AtomCall) throws -> Output {
        try FileSystem.requireAbsolute(input.archive, "archive")
        try FileSystem.requireAbsolute(input.directory, "directory")
        let entries = try Self.list(input.archive)
        let manifest = manifestPath(input, call: call)
        var added: [String]
        if let recorded = Self.readManifest(manifest) {
            added = recorded
        } else {
            added = FileSystem.exists(input.directory) ? [] : ["."]
            added += entries.filter { !FileSystem.exists(input.directory + "/" + $0) }
            try Self.writeManifest(manifest, added, directory: input.directory)
        }
        if !FileSystem.exists(input.directory), mkdir(input.directory, 0o755) != 0, errno != EEXIST {
            throw FileSystem.failure("cannot create", input.directory)
        }
        call.log("extracting \(entries.count) entries into \(input.directory)")
        let result = Tar.run(["--extract", "--gzip", "--file", input.archive, "--directory", input.directory,
                              "--keep-old-files", "--no-same-owner"])
        guard result.status == 0 else {
            throw AtomFailure("tar could not extract \(input.archive): \(result.errors)", retryable: false)
        }
        return Output(directory: input.directory, added: added)
    }

    func revert(_ input: Input, outputs: Output?, call: AtomCall) throws {
        let manifest = manifestPath(input, call: call)
        guard let added = outputs?.added ?? Self.readManifest(manifest) else { return }
        // Children before parents; a directory that has gained other files stays.
        for relative in added.sorted(by: { $0.count > $1.count }) where relative != "." {
            let path = input.directory + "/" + relative
            if FileSystem.kind(path) == S_IFDIR { rmdir(path) } else { try FileSystem.remove(path) }
        }
        try FileSystem.remove(manifest)
        if added.contains(".") { rmdir(input.directory) }
        call.log("removed \(added.count) entries from \(input.directory)")
    }

    func check(_ input: Input, outputs: Output?, call: AtomCall) throws -> Presence {
        guard let entries = try? Self.list(input.archive) else { return .unknown("cannot read \(input.archive)") }
        return entries.allSatisfy { FileSystem.exists(input.directory + "/" + $0) } ? .present : .absent
    }

    /// The archive's entries, refusing any that would land outside the directory.
    static func list(_ archive: String) throws -> [String] {
        let result = Tar.run(["--list", "--gzip", "--file", archive])
        guard result.status == 0 else {
            throw AtomFailure("cannot read \(archive): \(result.errors)", retryable: false, changedNothing: true)
        }
        var entries: [String] = []
        for line in result.output.split(separator: "\n") {
            let entry = line.hasSuffix("/") ? String(line.dropLast()) : String(line)
            let parts = entry.split(separator: "/")
            guard !entry.hasPrefix("/"), !parts.contains("..") else {
                throw AtomFailure("\(archive) has an entry outside its directory: \(entry)", retryable: false, changedNothing: true)
            }
            let clean = parts.filter { $0 != "." }.joined(separator: "/")
            if !clean.isEmpty { entries.append(clean) }
        }
        return entries
    }

    private func manifestPath(_ input: Input, call: AtomCall) -> String {
        let parent = (input.directory as NSString).deletingLastPathComponent
        let name = (input.directory as NSString).lastPathComponent
        return "\(parent)/.\(name).atomd-extract-\(Sidecar.stepHash(call))"
    }

    static func readManifest(_ path: String) -> [String]? {
        guard let bytes = FileSystem.read(path) else { return nil }
        return try? JSONDecoder().decode([String].self, from: Data(bytes))
    }

    static func writeManifest(_ path: String, _ added: [String], directory: String) throws {
        let bytes = [UInt8]((try? JSONEncoder().encode(added)) ?? Data("[]".utf8))
        try FileSystem.create(path, bytes, mode: 0o600)
        FileSystem.syncDirectory(of: path)
    }
}

/// Runs `tar` and collects what it prints.
enum Tar {
    struct Result {
        var status: Int32
        var output: String
        var errors: String
    }

    static func run(_ arguments: [String]) -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tar"] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return Result(status: 127, output: "", errors: "cannot run tar: \(error)")
        }
        // Both pipes are drained at once: a listing can be larger than a pipe holds.
        let errorText = Mutex(Data())
        let drained = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let data = errors.fileHandleForReading.readDataToEndOfFile()
            errorText.withLock { $0 = data }
            drained.signal()
        }
        let out = output.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        let err = errorText.withLock { $0 }
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: out, as: UTF8.self),
                      errors: String(decoding: err, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
