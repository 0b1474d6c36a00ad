import Foundation

/// A bound datagram socket standing in for systemd's notify socket.
public final class NotifyListener {
    public let path: String
    private let fd: Int32

    /// `timeout`: how long `receive` waits for one datagram.
    public init(timeout: Int = 30) {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString.prefix(8))").path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { bytes in
            for (index, byte) in path.utf8.enumerated() { bytes[index] = byte }
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        var limit = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The next datagram; "" when none came within the timeout.
    public func receive() -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        return String(decoding: buffer.prefix(max(0, count)), as: UTF8.self)
    }

    /// Datagrams until one starts with `prefix` (included), at most `limit`.
    public func receive(until prefix: String, limit: Int = 10_000) -> [String] {
        var received: [String] = []
        for _ in 0..<limit {
            let message = receive()
            guard !message.isEmpty else { break }
            received.append(message)
            if message.hasPrefix(prefix) { break }
        }
        return received
    }

    deinit {
        close(fd)
        unlink(path)
    }
}
