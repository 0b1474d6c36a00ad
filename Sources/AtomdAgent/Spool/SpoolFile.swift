import Foundation

/// Small files of the spool the agent reads besides jobs (submission
/// sidecars, error reports): anyone allowed into the spool could put a
/// link or a FIFO there, so they are opened without following links or
/// blocking, and read only as regular files of a bounded size.
enum SpoolFile {
    /// The bytes at `path`, or nil when there is no such file. With
    /// `owner`: the file must belong to that user, have one link, and be
    /// writable by nobody else.
    static func read(_ path: String, maxBytes: Int, owner: uid_t? = nil) throws(SpoolError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw SpoolError(path, "cannot be read: \(String(cString: strerror(errno)))", hint: "remove it")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size <= maxBytes else {
            throw SpoolError(path, "is not a regular file of at most \(maxBytes) bytes", hint: "remove it")
        }
        if let owner {
            guard info.st_uid == owner else {
                throw SpoolError(path, "is owned by uid \(info.st_uid), not by uid \(owner), who owns the job beside it",
                                 hint: "whoever writes the job writes its sidecar; remove it and submit the job again")
            }
            guard info.st_mode & 0o022 == 0, info.st_nlink == 1 else {
                throw SpoolError(path, "is writable by others or has more than one link", hint: "remove it and submit the job again")
            }
        }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count == bytes.count else {
            throw SpoolError(path, "cannot be read: \(String(cString: strerror(errno)))", hint: "remove it")
        }
        return bytes
    }
}
