import AtomdPluginKit
import Foundation

/// Where `files.extract` lets tar unpack, and how the result gets into place.
extension ExtractArchive {
    static func stagingName(_ call: AtomCall) -> String { ".atomd-stage-\(Sidecar.stepHash(call))" }

    /// A fresh, empty staging directory in `directory`, atomd's and 0700, so
    /// that nobody else can put a link into it while tar works there.
    static func stage(in directory: DirectoryHandle, call: AtomCall) throws -> DirectoryHandle {
        let name = stagingName(call)
        // A leftover of an interrupted attempt goes, with whatever it holds.
        try directory.removeTree(name)
        guard mkdirat(directory.descriptor, name, 0o700) == 0 else {
            throw FileSystem.failure(errno, "cannot create", directory.joined(name))
        }
        guard let staging = try directory.directory(name, for: directory.joined(name)) else {
            throw AtomFailure("cannot use \(directory.joined(name)): it vanished as it was made")
        }
        // The directory's owner could have put a directory of its own in its place since mkdirat.
        var info = stat()
        guard fstat(staging.descriptor, &info) == 0, info.st_uid == geteuid(), info.st_mode & 0o077 == 0 else {
            throw AtomFailure("cannot use \(staging.path): another user replaced it", retryable: false)
        }
        return staging
    }

    /// Clears the setuid and setgid bits of everything tar unpacked in
    /// `staging` (only atomd can reach it) and returns the entries that are
    /// neither files, directories nor links, which the caller refuses.
    static func defuse(_ staging: DirectoryHandle, depth: Int = 0) throws -> [String] {
        guard depth < 256 else { return [staging.path] }
        var refused: [String] = []
        for name in try staging.entries() {
            guard let info = staging.status(name) else { continue }
            let kind = info.st_mode & S_IFMT, mode = info.st_mode & 0o7777
            switch kind {
            case S_IFREG, S_IFDIR:
                if mode & (S_ISUID | S_ISGID) != 0, fchmodat(staging.descriptor, name, mode & ~(S_ISUID | S_ISGID), 0) != 0 {
                    throw FileSystem.failure(errno, "cannot clear the setuid bits of", staging.joined(name))
                }
                if kind == S_IFDIR, let child = try staging.directory(name, for: staging.joined(name)) {
                    refused += try defuse(child, depth: depth + 1)
                }
            case S_IFLNK: continue
            default: refused.append(staging.joined(name))
            }
        }
        return refused
    }

    /// Moves what tar unpacked in `staging` into `target`, replacing nothing:
    /// a free name takes the entry (a whole directory in one rename), a
    /// directory on both sides is merged, anything else stays behind and is
    /// named in `conflicts`.
    static func move(from staging: DirectoryHandle, into target: DirectoryHandle, conflicts: inout [String]) throws {
        for name in try staging.entries() {
            do {
                switch (staging.kind(name), target.kind(name)) {
                case (S_IFDIR, nil):
                    try staging.rename(name, to: name, in: target)
                case (_, nil):
                    // linkat, unlike rename, fails when something took the name meanwhile.
                    try staging.link(name, as: name, in: target)
                case (S_IFDIR, S_IFDIR):
                    guard let from = try staging.directory(name, for: staging.joined(name)),
                          let into = try target.directory(name, for: target.joined(name)) else {
                        conflicts.append("\(target.joined(name)) vanished while it was being filled")
                        continue
                    }
                    try move(from: from, into: into, conflicts: &conflicts)
                case (_, S_IFLNK):
                    throw target.linkRefusal(name, for: target.joined(name))
                default:
                    conflicts.append("\(target.joined(name)) exists")
                }
            } catch let failure as AtomFailure {
                conflicts.append(failure.message)
            }
        }
    }

    /// Removes the added entry `relative` from `directory`, reaching it
    /// without following links. `madeDirectory`: the extraction made a
    /// directory there, so a link in its place is another user's swap.
    static func remove(_ relative: String, from directory: DirectoryHandle, madeDirectory: Bool, for target: String) throws {
        let parts = relative.split(separator: "/").map(String.init)
        guard let last = parts.last,
              let holder = try directory.directory(parts.dropLast().joined(separator: "/"), for: target) else { return }
        switch holder.kind(last) {
        case nil:
            return
        case S_IFDIR:
            try holder.removeDirectory(last)
        case S_IFLNK where madeDirectory:
            throw holder.linkRefusal(last, for: target)
        default:
            try holder.remove(last)
        }
    }
}
