import Foundation
import Glibc

/// Why the CLI cannot talk to the agent's socket, told apart: no socket,
/// a socket no agent listens on, or an agent this user may not use (the
/// socket's mode and group say who may, and `api.group`/`api.public_read`
/// decide them).
enum SocketAccess {
    /// Nil when a connection can be made.
    static func problem(_ path: String) -> String? {
        var info = stat()
        if stat(path, &info) != 0 {
            if errno == EACCES {
                let directory = (path as NSString).deletingLastPathComponent
                return "\(UserName.current) may not reach the agent's socket \(path): the directory \(directory) is closed to this user; ask the agent's administrator for access (api.socket in a directory you can reach, and api.group or api.public_read)"
            }
            return "no agent socket at \(path)"
        }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if connected == 0 { return nil }
        switch errno {
        case EACCES:
            let group = getgrgid(info.st_gid).map { String(cString: $0.pointee.gr_name) } ?? String(info.st_gid)
            let mode = String(info.st_mode & 0o777, radix: 8)
            return "an agent's socket is at \(path), but \(UserName.current) may not use it (mode \(mode), group \(group)); to use it, be a member of the agent's api.group (\(group)), or ask for api.public_read for reading"
        case ECONNREFUSED:
            return "no agent listens on \(path) (the socket was left by an agent that is not running)"
        default:
            return nil
        }
    }
}

private enum UserName {
    static var current: String {
        getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid \(geteuid())"
    }
}
