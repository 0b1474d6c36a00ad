import Foundation

/// The rule sshd calls StrictModes, for the directories atomd keeps its
/// state in (its home, spool, logs) and loads plugins from: every directory
/// on the way, as written and through every symlink, is owned by root or the
/// agent's user and writable by nobody else, and so is every symlink
/// followed. Whoever can write there could swap the journal, a job or a log
/// for a symlink, or drop a plugin that atomd, usually root, would load.
public enum TrustedDirectory {
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public enum Kind: Sendable { case directory, symlink, path }

        public var path: String
        public var message: String
        public var fix: String
        /// What `path` is: a directory on the way (or the target), a symlink
        /// followed, or something that could not be examined.
        public var kind: Kind

        public init(path: String, message: String, fix: String, kind: Kind = .directory) {
            self.path = path
            self.message = message
            self.fix = fix
            self.kind = kind
        }

        public var description: String { "\(path): \(message); \(fix)" }
    }

    /// What a walked path ends in.
    public enum Target: Sendable {
        /// A directory atomd keeps its state in: writable by nobody else, or
        /// (`groupWritable`, the spool's incoming/) by its group as well.
        case directory(groupWritable: Bool)
        /// A file the caller opens and checks on its descriptor (a plugin):
        /// only the directories and symlinks on the way are checked here.
        case file
    }

    /// The links followed before a path is refused, as the kernel's ELOOP.
    static let maximumLinks = 40

    /// Checks `path`, its parents and every symlink on the way (see `walk`).
    /// `groupWritable`: `path` itself may be writable by its group (the
    /// spool's incoming/, where a group of producers drops jobs).
    public static func check(_ path: String, groupWritable: Bool = false) throws(Refusal) {
        _ = try walk(path, trusting: [0, geteuid()], to: .directory(groupWritable: groupWritable))
    }

    /// Follows `path` (relative: from the current directory) one component
    /// at a time, as the kernel does, and checks everything that decides
    /// where it leads: each directory a name is looked up in must be owned
    /// by a `trusted` user and writable by nobody else, except a root-owned
    /// sticky directory (/tmp), where others can add names but not replace
    /// ours; each symlink followed must be owned by a `trusted` user, as its
    /// owner can replace it even in a sticky directory (its target is
    /// walked the same way); the target is checked as `target` says.
    /// Returns the path with every link resolved, the one to open.
    public static func walk(_ path: String, trusting trusted: Set<uid_t>, to target: Target) throws(Refusal) -> String {
        var absolute = path
        if !path.hasPrefix("/") {
            guard let directory = getcwd(nil, 0) else {
                throw Refusal(path: path, message: "cannot be examined: the current directory is gone (\(String(cString: strerror(errno))))",
                              fix: "use an absolute path", kind: .path)
            }
            absolute = String(cString: directory) + "/" + path
            free(directory)
        }
        let onTheWay = " (on the way to \(path))"
        // The components still to walk, the next one last.
        var pending = absolute.split(separator: "/").reversed().map(String.init)
        // Where the walk is: a path without links, each directory in it checked.
        var current = "/"
        var links = 0
        while let name = pending.popLast() {
            if name == "." { continue }
            if name == ".." {
                current = (current as NSString).deletingLastPathComponent
                if current.isEmpty { current = "/" }
                continue
            }
            // Whoever can change `current` decides what `name` is.
            try checkDirectory(current, trusted: trusted, others: S_IWGRP | S_IWOTH, stickyAllowed: true, what: onTheWay)
            let next = current == "/" ? "/" + name : current + "/" + name
            var info = stat()
            guard lstat(next, &info) == 0 else {
                throw Refusal(path: next, message: "cannot be examined: \(String(cString: strerror(errno)))\(next == path ? "" : onTheWay)",
                              fix: "check that it exists", kind: .path)
            }
            guard info.st_mode & S_IFMT == S_IFLNK else {
                current = next
                continue
            }
            guard trusted.contains(info.st_uid) else {
                throw Refusal(path: next, message: "is a symlink owned by \(owner(info.st_uid)), not by root or the agent's user\(onTheWay)",
                              fix: "chown -h root \(next) (a link's owner can replace it, in /tmp too), or use a path without it",
                              kind: .symlink)
            }
            links += 1
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let length = readlink(next, &buffer, buffer.count - 1)
            guard links <= maximumLinks, length > 0 else {
                let reason = length < 0 ? "cannot be read: \(String(cString: strerror(errno)))" : "leads through more than \(maximumLinks) symlinks"
                throw Refusal(path: next, message: "\(reason)\(onTheWay)", fix: "use a path without it", kind: .symlink)
            }
            let link = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if link.hasPrefix("/") { current = "/" }
            pending += link.split(separator: "/").reversed().map(String.init)
        }
        if case .directory(let groupWritable) = target {
            let what = current == path ? "" : " (where \(path) leads)"
            try checkDirectory(current, trusted: trusted, others: groupWritable ? S_IWOTH : S_IWGRP | S_IWOTH, stickyAllowed: false,
                               what: what)
            try checkStickyIfShared(current, what: what)
        }
        return current
    }

    /// One directory: a directory, owned by a trusted user, not writable by
    /// `others` (unless it is root's and sticky, and `stickyAllowed`).
    private static func checkDirectory(_ directory: String, trusted: Set<uid_t>, others: mode_t, stickyAllowed: Bool,
                                       what: String) throws(Refusal) {
        var info = stat()
        guard lstat(directory, &info) == 0 else {
            throw Refusal(path: directory, message: "cannot be examined: \(String(cString: strerror(errno)))\(what)",
                          fix: "check that it exists")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw Refusal(path: directory, message: "is not a directory\(what)", fix: "use a directory")
        }
        guard trusted.contains(info.st_uid) else {
            throw Refusal(path: directory, message: "is owned by \(owner(info.st_uid)), not by root or the agent's user\(what)",
                          fix: "chown it to root (or the agent's user), or use another directory")
        }
        let mode = info.st_mode & 0o7777
        let sticky = stickyAllowed && mode & S_ISVTX != 0 && info.st_uid == 0
        if mode & others != 0, !sticky {
            let chmod = others & S_IWGRP == 0 ? "o-w" : "go-w"
            throw Refusal(path: directory, message: "is writable by \(mode & S_IWOTH != 0 ? "everyone" : "its group") (mode \(String(mode, radix: 8)))\(what)",
                          fix: "run chmod \(chmod) \(directory): whoever can write there can replace what atomd finds in it")
        }
    }

    /// A directory its group may write must be sticky: there members can
    /// add names but not rename or remove the agent's files (the job and
    /// sidecar `POST /jobs` wrote for another member).
    private static func checkStickyIfShared(_ directory: String, what: String) throws(Refusal) {
        var info = stat()
        guard lstat(directory, &info) == 0 else { return }
        let mode = info.st_mode & 0o7777
        guard mode & S_IWGRP != 0, mode & S_ISVTX == 0 else { return }
        throw Refusal(path: directory, message: "is writable by its group but not sticky (mode \(String(mode, radix: 8)))\(what)",
                      fix: "run chmod +t \(directory): members could otherwise rename or remove each other's jobs and the agent's")
    }

    private static func owner(_ uid: uid_t) -> String {
        getpwuid(uid).map { String(cString: $0.pointee.pw_name) } ?? "uid \(uid)"
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
