import AtomdPluginKit
import Foundation

/// The system calls the atoms need, with errors that name the path.
enum FileSystem {
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    static func kind(_ path: String) -> mode_t? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return info.st_mode & S_IFMT
    }

    static func failure(_ what: String, _ path: String, retryable: Bool = true) -> AtomFailure {
        AtomFailure("\(what) \(path): \(String(cString: strerror(errno)))", retryable: retryable)
    }

    static func requireAbsolute(_ path: String, _ field: String) throws {
        guard path.hasPrefix("/"), !path.contains("\0"), !path.split(separator: "/").contains("..") else {
            throw AtomFailure("'\(field)' must be an absolute path without '..', not '\(path)'", retryable: false, changedNothing: true)
        }
    }

    static func rename(_ from: String, _ to: String) throws {
        guard Foundation.rename(from, to) == 0 else { throw failure("cannot rename \(from) to", to) }
        syncDirectory(of: to)
    }

    static func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else { throw failure("cannot remove", path) }
    }

    /// Makes a rename durable.
    static func syncDirectory(of path: String) {
        let fd = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    static func read(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { [UInt8]($0) }
    }

    /// Writes `bytes` to a new file at `path` (replacing a leftover), durably.
    static func create(_ path: String, _ bytes: [UInt8], mode: mode_t) throws {
        try remove(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw failure("cannot create", path) }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { throw failure("cannot write", path) }
            offset += written
        }
        guard fchmod(fd, mode) == 0 else { throw failure("cannot set the mode of", path) }
        guard fsync(fd) == 0 else { throw failure("cannot flush", path) }
    }
}
