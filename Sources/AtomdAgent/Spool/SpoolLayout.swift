import AtomdSpec
import Foundation

/// The spool's four directories. Producers write into `incoming/` (as
/// `.name` or `name.tmp`, then rename to `name.yaml`); the agent claims a
/// job by renaming it into `processing/`, and ends it in `done/` or
/// `failed/`. A job file is moved, never deleted.
public struct SpoolLayout: Sendable, Hashable {
    public let root: String

    public init(root: String) {
        self.root = root
    }

    public var incoming: String { root + "/incoming" }
    public var processing: String { root + "/processing" }
    public var done: String { root + "/done" }
    public var failed: String { root + "/failed" }

    /// Creates what is missing: the root and `processing/`, `done/`, `failed/`
    /// only for the agent (0700); `incoming/` 0770 so that a group of
    /// producers can drop jobs. Existing directories are left as they are.
    public func create() throws(SpoolError) {
        // incoming/ is sticky: its group may add jobs but not move the agent's.
        for (path, mode) in [(root, 0o755), (incoming, 0o1770), (processing, 0o700), (done, 0o700), (failed, 0o700)] {
            guard mkdir(path, mode_t(mode)) == 0 || errno == EEXIST else {
                throw SpoolError(path, "cannot create the spool directory: \(String(cString: strerror(errno)))")
            }
            var info = stat()
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                throw SpoolError(path, "is not a directory", hint: "the spool needs incoming/, processing/, done/ and failed/ directories")
            }
        }
    }

    /// Refuses a spool others can write to: anyone who can write in
    /// `processing/` (or the spool itself) can swap a claimed job, or the
    /// directory, for a symlink. `incoming/` may be writable by its group.
    public func checkTrusted() throws(TrustedDirectory.Refusal) {
        try TrustedDirectory.check(root)
        try TrustedDirectory.check(incoming, groupWritable: true)
        for directory in [processing, done, failed] { try TrustedDirectory.check(directory) }
    }
}

/// A spool operation that failed, with the path it concerns.
public struct SpoolError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var message: String
    public var hint: String?
    /// Whether trying again later may succeed (an I/O error may pass; 10,000
    /// jobs of one name stay until an operator clears them out).
    public var passing: Bool

    public init(_ path: String, _ message: String, hint: String? = nil, passing: Bool = true) {
        self.path = path
        self.message = message
        self.hint = hint
        self.passing = passing
    }

    public var description: String { "\(path): \(message)" + (hint.map { " (\($0))" } ?? "") }
}
