import Foundation

/// `api.listen`: where the web console is served, `HOST:PORT` with an IP
/// address or `localhost` (`127.0.0.1:8470`, `[::1]:8470`, `0.0.0.0:8470`).
/// Port 0 takes any free port (`atomd console` prints the one in use).
///
/// A loopback address serves plain HTTP. Any other needs `api.tls`: a
/// session token sent in clear over a network is a password sent in clear.
public struct ConsoleAddress: Sendable, Hashable, CustomStringConvertible {
    /// An IP address: `127.0.0.1`, `::1`, `10.0.0.5`, `0.0.0.0`.
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// The address, or why `text` is not `HOST:PORT`.
    public static func parse(_ text: String) -> Result<ConsoleAddress, AddressError> {
        let host: Substring, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return .failure(.init("'\(text)' is not HOST:PORT"))
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return .failure(.init("'\(text)' is not HOST:PORT")) }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard portText.allSatisfy(\.isASCII), let port = Int(portText), (0...65535).contains(port) else {
            return .failure(.init("the port of '\(text)' is not a number from 0 to 65535"))
        }
        if host == "localhost" { return .success(ConsoleAddress(host: "127.0.0.1", port: port)) }
        guard isIPAddress(String(host)) else {
            return .failure(.init("'\(host)' is not an IP address", hint: "write an address the agent can bind, such as 127.0.0.1:8470 or [::1]:8470"))
        }
        return .success(ConsoleAddress(host: String(host), port: port))
    }

    /// 127.0.0.0/8 or ::1: reachable from this machine only.
    public var isLoopback: Bool {
        if host == "::1" { return true }
        var address = in_addr()
        return inet_pton(AF_INET, host, &address) == 1 && UInt32(bigEndian: address.s_addr) >> 24 == 127
    }

    /// `0.0.0.0` or `::`: every address of the machine.
    public var isUnspecified: Bool { host == "0.0.0.0" || host == "::" }

    /// `127.0.0.1:8470`, `[::1]:8470`.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }
}

/// `api.tls`: the certificate chain and private key (PEM) the console
/// serves HTTPS with.
public struct ConsoleTLS: Sendable, Hashable {
    /// Relative paths are relative to the agent's home.
    public var certificate: String
    public var key: String

    public init(certificate: String, key: String) {
        self.certificate = certificate
        self.key = key
    }
}

/// Why an address in the configuration (`api.listen`, `journal.postgres.url`) cannot be used.
public struct AddressError: Error, Sendable {
    public var message: String
    public var hint: String

    init(_ message: String, hint: String = "write for example 127.0.0.1:8470") {
        self.message = message
        self.hint = hint
    }
}
