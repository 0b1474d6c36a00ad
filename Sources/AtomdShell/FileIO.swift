import Glibc

/// Plain system calls for the files of every step: Foundation's file APIs
/// (atomic writes through a temporary file, recursive walks) cost more than
/// the spawn itself, and this is the hot path of every shell step.
enum FileIO {
    /// Creates `path` (which must not exist) with `mode` and writes `bytes`.
    static func create(_ path: String, mode: mode_t, bytes: [UInt8] = []) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
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

    /// At most `limit` bytes of the file; empty when it cannot be read.
    static func read(_ path: String, limit: Int) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
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
