import AtomdPluginKit
import Foundation

/// The file operations of the `files` plugin: each an `*at` call relative
/// to the directory's descriptor, on a name in it, never following a link
/// in that name unless the call's purpose is to read the link.
extension DirectoryHandle {
    /// Makes the directory `name` unless something is there already.
    func makeDirectory(_ name: String, mode: mode_t) throws {
        guard mkdirat(descriptor, name, mode) == 0 || errno == EEXIST else {
            throw FileSystem.failure(errno, "cannot create", joined(name))
        }
    }

    /// Removes `name` itself (a link, never what it points to); gone already is fine.
    func remove(_ name: String) throws {
        guard unlinkat(descriptor, name, 0) == 0 || errno == ENOENT else { throw FileSystem.failure(errno, "cannot remove", joined(name)) }
    }

    /// Removes the directory `name` when it is empty; false when it is not.
    @discardableResult
    func removeDirectory(_ name: String) throws -> Bool {
        if unlinkat(descriptor, name, AT_REMOVEDIR) == 0 || errno == ENOENT { return true }
        if errno == ENOTEMPTY || errno == EEXIST { return false }
        throw FileSystem.failure(errno, "cannot remove", joined(name))
    }

    /// Removes `name` and, when it is a directory, everything in it; links are removed, not followed.
    func removeTree(_ name: String) throws {
        if kind(name) == S_IFDIR, let inner = try directory(name, for: joined(name)) {
            for entry in try inner.entries() { try inner.removeTree(entry) }
            try removeDirectory(name)
        } else {
            try remove(name)
        }
    }

    /// Renames `name` to `other` in `destination` (default: here), replacing
    /// what is there as rename does; neither name is followed.
    func rename(_ name: String, to other: String, in destination: DirectoryHandle? = nil) throws {
        let into = destination ?? self
        guard renameat(descriptor, name, into.descriptor, other) == 0 else {
            throw FileSystem.failure(errno, "cannot rename \(joined(name)) to", into.joined(other))
        }
        into.sync()
    }

    /// A second name `other` in `destination` for the file `name` (a link stays a link); never replaces.
    func link(_ name: String, as other: String, in destination: DirectoryHandle? = nil) throws {
        let into = destination ?? self
        guard linkat(descriptor, name, into.descriptor, other, 0) == 0 else {
            throw FileSystem.failure(errno, "cannot link \(joined(name)) as", into.joined(other))
        }
    }

    /// What the link `name` points to; nil when it is not a link.
    func readLink(_ name: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlinkat(descriptor, name, &buffer, buffer.count - 1)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The link `name` pointing to `target`, replacing a leftover of that name.
    func makeLink(_ name: String, to target: String) throws {
        try remove(name)
        guard symlinkat(target, descriptor, name) == 0 else { throw FileSystem.failure(errno, "cannot create the link", joined(name)) }
    }

    /// A new file `name` (replacing a leftover of that name) holding `bytes`,
    /// durably. Owner and mode are set on the open descriptor, before anyone
    /// can see the file under the name it is renamed to; the owner first,
    /// because chown clears set-id bits.
    func createFile(_ name: String, _ bytes: [UInt8], mode: mode_t, owner: (user: uid_t, group: gid_t?)? = nil) throws {
        try remove(name)
        // 0600 until the content, owner and mode are in place.
        let fd = openat(descriptor, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileSystem.failure(errno, "cannot create", joined(name)) }
        defer { close(fd) }
        try FileSystem.write(bytes, to: fd, joined(name))
        if let owner, fchown(fd, owner.user, owner.group ?? gid_t.max) != 0 {
            throw FileSystem.failure(errno, "cannot change the owner of", joined(name))
        }
        guard fchmod(fd, mode) == 0 else { throw FileSystem.failure(errno, "cannot set the mode of", joined(name)) }
        guard fsync(fd) == 0 else { throw FileSystem.failure(errno, "cannot flush", joined(name)) }
    }

    /// The regular file `name` opened for reading (the caller closes it);
    /// nil when nothing is there. A link or anything but a regular file is refused.
    func openFile(_ name: String, for target: String) throws -> Int32? {
        // O_NONBLOCK: a FIFO put in its place must not hang the open.
        let fd = openat(descriptor, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let error = errno
            if kind(name) == S_IFLNK { throw linkRefusal(name, for: target) }
            if error == ENOENT { return nil }
            throw FileSystem.failure(error, "cannot open", joined(name))
        }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw AtomFailure("cannot use \(target): \(joined(name)) is not a regular file", retryable: false, changedNothing: true)
        }
        return fd
    }

    /// The content of the regular file `name`; nil when it is missing, not
    /// a regular file, or longer than `limit` bytes.
    func readFile(_ name: String, limit: Int) -> [UInt8]? {
        guard let fd = try? openFile(name, for: joined(name)) else { return nil }
        defer { close(fd) }
        return FileSystem.read(fd, limit: limit)
    }

    /// The names in this directory, without `.` and `..`.
    func entries() throws -> [String] {
        // fdopendir takes over the descriptor it is given: a fresh one of the same directory.
        let fd = openat(descriptor, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0, let stream = fdopendir(fd) else {
            let error = errno
            if fd >= 0 { close(fd) }
            throw FileSystem.failure(error, "cannot list", path)
        }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            // A name that is not UTF-8 would come back as another name: refused rather than missed.
            guard let name = withUnsafeBytes(of: entry.pointee.d_name, { String(validating: $0.prefix { $0 != 0 }, as: UTF8.self) }) else {
                throw AtomFailure("\(path) holds a name that is not UTF-8", retryable: false)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }
}
