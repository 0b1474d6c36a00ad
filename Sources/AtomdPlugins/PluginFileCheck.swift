import AtomdSpec
import Foundation

/// A plugin file that passed the safety checks, held open: what is loaded
/// is this descriptor, through `/proc/self/fd/N`, never the path again.
public final class OpenedPluginFile: Sendable {
    public let fd: Int32
    /// The path as found in the plugin directory.
    public let path: String
    /// The path with every symlink resolved.
    public let resolvedPath: String

    init(fd: Int32, path: String, resolvedPath: String) {
        self.fd = fd
        self.path = path
        self.resolvedPath = resolvedPath
    }

    /// The file's SHA-256, read through the open descriptor.
    public func sha256() throws(PluginError) -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var offset: off_t = 0
        while true {
            let count = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw PluginError(path, "cannot be read: \(String(cString: strerror(errno)))") }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            offset += off_t(count)
        }
        return SHA256.hex(bytes)
    }

    deinit { close(fd) }
}

/// The checks of DESIGN.md section 6, made before a byte of a plugin runs:
/// the path is walked as written, and every directory on the way and every
/// symlink followed (`TrustedDirectory.walk`, the rule the agent's own
/// directories follow) is owned by a trusted user, the directories writable
/// by nobody else; the file is a regular file with the same owners, opened
/// without following symlinks and checked on the open descriptor;
/// optionally on a SHA-256 allowlist.
struct PluginFileCheck {
    let settings: PluginSettings

    func open(_ path: String) throws(PluginError) -> OpenedPluginFile {
        let resolved: String
        do {
            resolved = try TrustedDirectory.walk(path, trusting: settings.trustedOwners, to: .file)
        } catch {
            throw PluginError(path, "\(error.kind == .directory ? "the directory " : "")\(error.path) \(error.message)", hint: error.fix)
        }
        let fd = Glibc.open(resolved, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            throw PluginError(path, "cannot be opened: \(String(cString: strerror(errno)))")
        }
        let opened = OpenedPluginFile(fd: fd, path: path, resolvedPath: resolved)
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw PluginError(path, "cannot be examined: \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw PluginError(path, "is not a regular file", hint: "a plugin is a shared library file (NAME.so)")
        }
        try checkOwnership(info, of: resolved == path ? path : "\(path) (\(resolved))", file: path)
        if let allowed = settings.allowedSHA256 {
            let digest = try opened.sha256()
            guard allowed.contains(digest) else {
                throw PluginError(path, "its SHA-256 \(digest) is not in the allowlist",
                                  hint: "add it to plugins.allow_sha256 in the agent configuration if you trust this build")
            }
        }
        return opened
    }

    /// The plugin file itself, on its open descriptor.
    private func checkOwnership(_ info: stat, of what: String, file: String) throws(PluginError) {
        guard settings.trustedOwners.contains(info.st_uid) else {
            let owner = getpwuid(info.st_uid).map { String(cString: $0.pointee.pw_name) } ?? "uid \(info.st_uid)"
            throw PluginError(file, "\(what) is owned by \(owner), not by root or the agent's user",
                              hint: "chown root: it, or move the plugin somewhere only root can write")
        }
        guard info.st_mode & (S_IWGRP | S_IWOTH) == 0 else {
            throw PluginError(file, "\(what) is writable by its group or by everyone (mode \(String(info.st_mode & 0o7777, radix: 8)))",
                              hint: "chmod go-w it: anyone who can write there can make atomd run their code")
        }
    }
}
