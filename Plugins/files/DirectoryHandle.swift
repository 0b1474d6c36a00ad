import AtomdPluginKit
import Foundation

/// A directory opened without following symbolic links; the file
/// operations of the `files` plugin are relative to its descriptor
/// (DirectoryOperations.swift).
///
/// atomd is root and changes files in directories that less-trusted users
/// can write (an application's directory owned by its deploy user). By
/// path, `chown`, `unlink` or `rename` follow whatever link such a user
/// swaps into the path between two calls, and root changes a file of the
/// link's choosing. So a path is walked from `/` one component at a time
/// with `O_NOFOLLOW` (a link anywhere on it is refused, never followed), and
/// every operation is an `*at` call on the directory that was opened:
/// whatever is renamed or swapped above it afterwards, the same directory is
/// used (DESIGN.md section 10).
final class DirectoryHandle {
    /// The path it was reached by: for messages, never opened again.
    let path: String
    let descriptor: Int32

    private init(_ descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { close(descriptor) }

    /// The directory at the absolute `path`, or nil when a component does
    /// not exist. `target` is the path the caller is after, for messages.
    static func open(_ path: String, for target: String) throws -> DirectoryHandle? {
        guard path.hasPrefix("/") else {
            throw AtomFailure("cannot use \(target): \(path) is not an absolute path", retryable: false, changedNothing: true)
        }
        let root = Glibc.open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard root >= 0 else { throw FileSystem.failure(errno, "cannot open", "/") }
        return try DirectoryHandle(root, path: "/").directory(path, for: target)
    }

    /// Like `open`, for a directory that must exist.
    static func existing(_ path: String, for target: String) throws -> DirectoryHandle {
        guard let handle = try open(path, for: target) else {
            throw AtomFailure("cannot use \(target): the directory \(path) does not exist", changedNothing: true)
        }
        return handle
    }

    /// The directory `relative` (components below this one), or nil when
    /// a component does not exist.
    func directory(_ relative: String, for target: String) throws -> DirectoryHandle? {
        var current = self
        for component in relative.split(separator: "/") where component != "." {
            guard let next = try current.child(String(component), for: target) else { return nil }
            current = next
        }
        return current
    }

    private func child(_ name: String, for target: String) throws -> DirectoryHandle? {
        guard name != ".." else {
            throw AtomFailure("cannot use \(target): '..' is not followed", retryable: false, changedNothing: true)
        }
        let fd = openat(descriptor, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd >= 0 { return DirectoryHandle(fd, path: joined(name)) }
        let error = errno
        // A link fails like a file would (ENOTDIR or ELOOP): lstat tells which it was.
        if kind(name) == S_IFLNK { throw linkRefusal(name, for: target) }
        if error == ENOENT { return nil }
        throw FileSystem.failure(error, "cannot open the directory", joined(name))
    }

    /// The refusal when `name` here is a link where a directory or file is expected.
    func linkRefusal(_ name: String, for target: String) -> AtomFailure {
        AtomFailure("cannot use \(target): \(joined(name)) is a symbolic link; atomd does not follow links in paths another user could change",
                    retryable: false, changedNothing: true)
    }

    func joined(_ name: String) -> String { path == "/" ? "/" + name : path + "/" + name }

    /// `lstat` of `name`: a link is described, never followed.
    func status(_ name: String) -> stat? {
        var info = stat()
        return fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0 ? info : nil
    }

    func kind(_ name: String) -> mode_t? { status(name).map { $0.st_mode & S_IFMT } }

    func exists(_ name: String) -> Bool { status(name) != nil }

    /// Makes renames and removals in this directory durable.
    func sync() {
        fsync(descriptor)
    }
}
