import Foundation
import NIOCore

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

    private static func uid(ip: String, port: Int) -> uid_t? {
        let wanted = tableAddress(ip: ip, port: port)
        guard !wanted.isEmpty else { return nil }
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            // Read to the end (procfs reports a size of 0), then look for the
            // one row whose local address is the peer's, without splitting
            // every row: under a flood the table holds thousands.
            guard let handle = FileHandle(forReadingAtPath: table) else { continue }
            defer { try? handle.close() }
            let bytes = handle.readDataToEndOfFile()
            for address in wanted {
                guard let found = bytes.range(of: Data(": \(address) ".utf8)) else { continue }
                let rest = bytes[found.upperBound...].prefix { $0 != UInt8(ascii: "\n") }
                let fields = rest.split(separator: UInt8(ascii: " "))
                // After the local address: remote, state, queues, timer, retransmits, uid.
                guard fields.count > 5 else { continue }
                return uid_t(String(decoding: fields[5], as: UTF8.self))
            }
        }
        return nil
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
