import Foundation

/// A `sockaddr_un` for a path, or for an abstract name (a leading NUL).
struct UnixSocketAddress: Sendable {
    private var address = sockaddr_un()
    private let length: socklen_t

    /// Nil when `bytes` does not fit in `sun_path` (107 bytes and a NUL).
    init?(_ bytes: [UInt8]) {
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            for (index, byte) in bytes.enumerated() { path[index] = byte }
        }
        length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
    }

    init?(path: String) {
        self.init(Array(path.utf8))
    }

    func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        withUnsafePointer(to: address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}
