import AtomdSpec
import Foundation

/// Reads the values of a job's secrets from the environment and from files.
public enum SecretResolver {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Larger secret files are refused: a secret is a token or a key, and a
    /// path to a device or a huge file must not hold the agent.
    static let maxBytes = 1 << 20

    /// `limits`: the submitter's `api.run_as` (nil for root and the agent's
    /// user). Under limits, files are read only below the listed
    /// directories, one component at a time without following links, each
    /// directory owned by root or the agent's user and writable by nobody
    /// else; the agent's environment is never read.
    public static func resolve(_ secrets: [String: SecretSource], limits: RunAsPolicy? = nil) throws(Failure) -> [String: String] {
        var values: [String: String] = [:]
        for (name, source) in secrets.sorted(by: { $0.key < $1.key }) {
            let bytes: [UInt8]
            switch source {
            case .environment(let variable):
                guard limits == nil else {
                    throw Failure(description: "secret '\(name)': jobs limited by api.run_as may not read the agent's environment")
                }
                guard let value = ProcessInfo.processInfo.environment[variable] else {
                    throw Failure(description: "secret '\(name)': environment variable \(variable) is not set")
                }
                values[name] = value
                continue
            case .file(let path):
                if let limits {
                    guard let (directory, relative) = limits.secretDirectory(holding: path) else {
                        throw Failure(description: "secret '\(name)': \(path) is outside the directories api.run_as.secrets lists")
                    }
                    bytes = try confinedRead(directory: directory, relative: relative, secret: name)
                } else {
                    guard let data = FileManager.default.contents(atPath: path) else {
                        throw Failure(description: "secret '\(name)': cannot read \(path)")
                    }
                    bytes = Array(data)
                }
            }
            // A trailing newline is how editors save files, not part of the secret.
            var value = String(decoding: bytes, as: UTF8.self)
            while value.last == "\n" || value.last == "\r" { value.removeLast() }
            values[name] = value
        }
        return values
    }

    /// Opens `directory`, then each component of `relative` with
    /// `O_NOFOLLOW` relative to the one before: a link anywhere below the
    /// listed directory, or a directory someone else could change, refuses
    /// the secret rather than reading what it points to.
    private static func confinedRead(directory: String, relative: [String], secret: String) throws(Failure) -> [UInt8] {
        func failure(_ what: String) -> Failure {
            Failure(description: "secret '\(secret)': \(what)")
        }
        // The listed directory and everything on the way to it, as the
        // agent's own directories: a link or a directory someone else owns
        // above it would let them point it at /etc.
        let resolved: String
        do {
            resolved = try TrustedDirectory.walk(directory, trusting: [0, geteuid()], to: .directory(groupWritable: false))
        } catch {
            throw failure("api.run_as.secrets: \(error)")
        }
        var fd = open(resolved, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw failure("cannot open \(directory): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var path = directory
        for (index, component) in relative.enumerated() {
            try checkTrusted(fd, path, failure)
            let last = index == relative.count - 1
            let next = openat(fd, component, (last ? O_RDONLY | O_NONBLOCK : O_RDONLY | O_DIRECTORY) | O_NOFOLLOW | O_CLOEXEC)
            path += "/" + component
            guard next >= 0 else {
                throw failure(errno == ELOOP || errno == ENOTDIR ? "\(path) is a symbolic link or not a directory; secrets are not read through links"
                                                                 : "cannot open \(path): \(String(cString: strerror(errno)))")
            }
            close(fd)
            fd = next
        }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size <= maxBytes else {
            throw failure("\(path) is not a regular file of at most \(maxBytes) bytes")
        }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count == bytes.count else { throw failure("cannot read \(path)") }
        return bytes
    }

    private static func checkTrusted(_ fd: Int32, _ path: String, _ failure: (String) -> Failure) throws(Failure) {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure("cannot examine \(path)") }
        guard info.st_uid == 0 || info.st_uid == getuid(), info.st_mode & 0o022 == 0 else {
            throw failure("\(path) is owned by uid \(info.st_uid) or writable by others; a directory of secrets must be root's (chmod go-w, chown root)")
        }
    }
}
