import Foundation

/// sd_notify(3) without libsystemd: datagrams to `$NOTIFY_SOCKET`. Without
/// that variable (not started by systemd with Type=notify) every call does
/// nothing.
public struct SystemdNotifier: Sendable {
    private let address: UnixSocketAddress?
    /// How often to send WATCHDOG=1: half of `$WATCHDOG_USEC`, if set for this process.
    public let watchdogInterval: Duration?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let path = environment["NOTIFY_SOCKET"], !path.isEmpty {
            // '@' names an abstract socket: a leading NUL byte.
            address = UnixSocketAddress(path.hasPrefix("@") ? [0] + Array(path.utf8.dropFirst()) : Array(path.utf8))
        } else {
            address = nil
        }
        let forUs = environment["WATCHDOG_PID"].map { $0 == String(getpid()) } ?? true
        if forUs, let text = environment["WATCHDOG_USEC"], let usec = Int64(text), usec > 0 {
            watchdogInterval = .microseconds(usec / 2)
        } else {
            watchdogInterval = nil
        }
    }

    public var isActive: Bool { address != nil }

    /// Sends `state` ("READY=1", "STATUS=...", ...); failures are ignored,
    /// as sd_notify's are: the service works without a listener.
    public func notify(_ state: String) {
        guard let address else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(state.utf8)
        _ = address.withSockaddr { sendto(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL), $0, $1) }
    }
}
