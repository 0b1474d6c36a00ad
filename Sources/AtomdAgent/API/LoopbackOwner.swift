import Foundation
import NIOCore
import Synchronization

/// The local user behind a loopback TCP connection, from the kernel's socket
/// table (`/proc/net/tcp`, `/proc/net/tcp6`: the client's socket is the row
/// whose local address is the connection's remote one). Every local user
/// can use any 127.0.0.0/8 address, so an address says nothing about who is
/// connecting; the uid does, and the console's per-peer cap counts by it.
enum LoopbackOwner {
    /// `uid N` for a loopback peer the table lists, else the address itself.
    static func key(for address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress, let port = address.port else { return "an unknown address" }
        guard isLoopback(ip), let uid = uid(ip: ip, port: port) else { return ip }
        return "uid \(uid)"
    }

    private static func isLoopback(_ ip: String) -> Bool {
        ip.hasPrefix("127.") || ip == "::1" || ip.hasPrefix("::ffff:127.")
    }

    /// The table as last read, by local address. A flood arrives in
    /// batches the kernel has already queued: one read serves the batch, and
    /// a connection the table did not hold yet makes the next read.
    /// Kept for half a second, and never trusted for root or the agent's
    /// user (who are not held to the per-user cap): a port another user
    /// reuses must not inherit a privileged owner.
    private static let table = Mutex<(owners: [String: uid_t], read: ContinuousClock.Instant?)>(([:], nil))

    private static func uid(ip: String, port: Int) -> uid_t? {
        let wanted = tableAddress(ip: ip, port: port)
        guard !wanted.isEmpty else { return nil }
        return table.withLock { table in
            let now = ContinuousClock.now
            if let read = table.read, now - read < .milliseconds(500) {
                for address in wanted {
                    if let known = table.owners[address], known != 0, known != getuid() { return known }
                }
            }
            table = (read(), now)
            for address in wanted { if let known = table.owners[address] { return known } }
            return nil
        }
    }

    /// Local address to uid, from both tables. Read to the end: procfs
    /// reports a size of 0.
    private static func read() -> [String: uid_t] {
        var owners: [String: uid_t] = [:]
        for path in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let handle = FileHandle(forReadingAtPath: path) else { continue }
            defer { try? handle.close() }
            for line in handle.readDataToEndOfFile().split(separator: UInt8(ascii: "\n")).dropFirst() {
                // sl, local address, remote, state, queues, timer, retransmits, uid.
                let fields = line.split(separator: UInt8(ascii: " "))
                guard fields.count > 7, let uid = uid_t(String(decoding: fields[7], as: UTF8.self)) else { continue }
                owners[String(decoding: fields[1], as: UTF8.self)] = uid
            }
        }
        return owners
    }

    /// The ways the table writes `ip:port`: IPv4 as 8 hex digits of the
    /// address in host (little-endian) order, IPv6 as four such words; an
    /// IPv4-mapped peer of an IPv6 listener appears in tcp6 with the
    /// ::ffff: prefix.
    private static func tableAddress(ip: String, port: Int) -> Set<String> {
        let portText = String(format: "%04X", port)
        var forms: Set<String> = []
        let v4 = ip.hasPrefix("::ffff:") ? String(ip.dropFirst(7)) : ip
        var v4Address = in_addr()
        if inet_pton(AF_INET, v4, &v4Address) == 1 {
            let word = String(format: "%08X", v4Address.s_addr)
            forms.insert(word + ":" + portText)
            forms.insert("0000000000000000FFFF0000" + word + ":" + portText)
        }
        var v6Address = in6_addr()
        if inet_pton(AF_INET6, ip, &v6Address) == 1 {
            let words = withUnsafeBytes(of: v6Address) { bytes in
                stride(from: 0, to: 16, by: 4).map { offset in
                    String(format: "%08X", bytes.load(fromByteOffset: offset, as: UInt32.self))
                }
            }
            forms.insert(words.joined() + ":" + portText)
        }
        return forms
    }
}
