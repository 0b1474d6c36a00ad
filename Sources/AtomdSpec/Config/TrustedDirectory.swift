import Foundation

/// The rule sshd calls StrictModes, for the directories atomd keeps its
/// state in (its home, spool, logs, plugins): the directory and every one
/// above it is owned by root or the agent's user and writable by nobody
/// else. Whoever can write there could swap the journal, a job or a log for
/// a symlink, or drop a plugin that atomd, usually root, would load.
public enum TrustedDirectory {
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public var path: String
        public var message: String
        public var fix: String

        public var description: String { "\(path): \(message); \(fix)" }
    }

    /// Checks `path` and its parents. `groupWritable`: `path` itself may be
    /// writable by its group (the spool's incoming/, where a group of
    /// producers drops jobs). Above `path`, a root-owned sticky directory
    /// (/tmp) is accepted: others can add entries there but cannot rename or
    /// remove ours.
    public static func check(_ path: String, groupWritable: Bool = false) throws(Refusal) {
        // Symlinks resolved: the directories checked are the ones written to.
        guard let resolved = realpath(path, nil) else {
            throw Refusal(path: path, message: "cannot be examined: \(String(cString: strerror(errno)))", fix: "check that it exists")
        }
        var current = String(cString: resolved)
        free(resolved)
        let trusted: Set<uid_t> = [0, geteuid()]
        var isTarget = true
        while true {
            var info = stat()
            guard lstat(current, &info) == 0 else {
                throw Refusal(path: current, message: "cannot be examined: \(String(cString: strerror(errno)))",
                              fix: "check that it exists")
            }
            let what = isTarget ? "" : " (a directory above \(path))"
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw Refusal(path: current, message: "is not a directory\(what)", fix: "use a directory")
            }
            guard trusted.contains(info.st_uid) else {
                let owner = getpwuid(info.st_uid).map { String(cString: $0.pointee.pw_name) } ?? "uid \(info.st_uid)"
                throw Refusal(path: current, message: "is owned by \(owner), not by root or atomd's user\(what)",
                              fix: "chown it to root (or atomd's user), or use another directory")
            }
            let mode = info.st_mode & 0o7777
            let sticky = !isTarget && mode & S_ISVTX != 0 && info.st_uid == 0
            let others = isTarget && groupWritable ? S_IWOTH : S_IWGRP | S_IWOTH
            if mode & others != 0, !sticky {
                throw Refusal(path: current, message: "is writable by \(mode & S_IWOTH != 0 ? "everyone" : "its group") (mode \(String(mode, radix: 8)))\(what)",
                              fix: "run chmod \(isTarget && groupWritable ? "o-w" : "go-w") \(current): whoever can write there can replace what atomd keeps in it")
            }
            if current == "/" { return }
            current = (current as NSString).deletingLastPathComponent
            if current.isEmpty { current = "/" }
            isTarget = false
        }
    }

    /// Creates `path` (mode 0700) when it is missing, but never its parents:
    /// a mistyped `--home` is an error, not a tree of new directories.
    public static func create(_ path: String) throws(Refusal) {
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
            let parent = (path as NSString).deletingLastPathComponent
            let reason = errno == ENOENT ? "its parent directory \(parent.isEmpty ? "." : parent) does not exist" : String(cString: strerror(errno))
            throw Refusal(path: path, message: "cannot be created: \(reason)",
                          fix: errno == ENOENT ? "check the path; atomd creates the home itself, never the directories above it" : "check the path")
        }
    }
}
