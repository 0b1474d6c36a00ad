import AtomdPluginKit
import Foundation

/// Paths as the atoms take them, errors that name the path, and reading
/// and writing an open descriptor. Every operation on a path goes through
/// a `DirectoryHandle`.
enum FileSystem {
    static func failure(_ error: Int32, _ what: String, _ path: String, retryable: Bool = true) -> AtomFailure {
        AtomFailure("\(what) \(path): \(String(cString: strerror(error)))", retryable: retryable)
    }

    static func requireAbsolute(_ path: String, _ field: String) throws {
        guard path.hasPrefix("/"), !path.contains("\0"), !path.split(separator: "/").contains("..") else {
            throw AtomFailure("'\(field)' must be an absolute path without '..', not '\(path)'", retryable: false, changedNothing: true)
        }
    }

    /// The directory holding the absolute `path` and its last component:
    /// what an atom opens, and the name it works on there.
    static func split(_ path: String, _ field: String) throws -> (directory: String, name: String) {
        try requireAbsolute(path, field)
        let components = path.split(separator: "/").filter { $0 != "." }
        guard let name = components.last else {
            throw AtomFailure("'\(field)' must name something below /, not '\(path)'", retryable: false, changedNothing: true)
        }
        return ("/" + components.dropLast().joined(separator: "/"), String(name))
    }

    static func write(_ bytes: [UInt8], to fd: Int32, _ path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { throw failure(errno, "cannot write", path) }
            offset += written
        }
    }

    /// Everything `fd` holds from where it is; nil when that is more than `limit` bytes or unreadable.
    static func read(_ fd: Int32, limit: Int) -> [UInt8]? {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { return bytes }
            bytes += chunk[0..<count]
            if bytes.count > limit { return nil }
        }
    }
}
