import Glibc

/// Plain system calls for the files of every step: Foundation's file APIs
/// (atomic writes through a temporary file, recursive walks) cost more than
/// the spawn itself, and this is the hot path of every shell step.
enum FileIO {
    /// Creates `path` (which must not exist) with `mode` and writes `bytes`.
    static func create(_ path: String, mode: mode_t, bytes: [UInt8] = []) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }

    /// At most `limit` bytes of a file a step could have tampered with: a
    /// regular file owned by `owner` with one link, opened without following
    /// a symlink and without waiting on a FIFO. `name` is what messages call it.
    static func readOwnedFile(_ path: String, owner: uid_t, limit: Int, name: String) throws(ShellError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let reason = errno == ELOOP ? "it was replaced by a symbolic link" : String(cString: strerror(errno))
            throw ShellError("\(name) cannot be read (\(reason)); nothing was read from it")
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw ShellError("\(name) cannot be read: \(String(cString: strerror(errno)))") }
        guard status.st_mode & S_IFMT == S_IFREG, status.st_nlink == 1 else {
            throw ShellError("\(name) is no longer the regular file atomd made for the step; nothing was read from it")
        }
        guard status.st_uid == owner else {
            throw ShellError("\(name) belongs to uid \(status.st_uid), not to the step's user (uid \(owner)); nothing was read from it")
        }
        return read(fd, limit: limit)
    }

    /// At most `limit` bytes of a file of the system's (`/proc`); empty when
    /// it cannot be read.
    static func read(_ path: String, limit: Int) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        return read(fd, limit: limit)
    }

    /// At most `limit` bytes from an open file.
    private static func read(_ fd: Int32, limit: Int) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while result.count < limit {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, min($0.count, limit - result.count)) }
            guard count > 0 else { break }
            result += chunk[0..<count]
        }
        return result
    }

    /// The names in a directory, without `.` and `..`.
    static func list(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }
}
