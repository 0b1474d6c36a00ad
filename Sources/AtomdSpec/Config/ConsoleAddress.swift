/// `api.listen`: where the web console is served, `HOST:PORT` on a loopback
/// address (`127.0.0.1:8470`, `[::1]:8470`, `localhost:8470`). Port 0 takes
/// any free port (`atomd console` prints the one in use).
///
/// Other addresses are refused: the console speaks plain HTTP, and a
/// session cookie sent in clear over a network is a password sent in clear.
/// Reach it from elsewhere through an SSH tunnel or a TLS reverse proxy.
public struct ConsoleAddress: Sendable, Hashable, CustomStringConvertible {
    /// `127.0.0.1` or `::1`.
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Nil with a reason when `text` is not a loopback `HOST:PORT`.
    public static func parse(_ text: String) -> Result<ConsoleAddress, ConsoleAddressError> {
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
        switch host {
        case "127.0.0.1", "localhost": return .success(ConsoleAddress(host: "127.0.0.1", port: port))
        case "::1": return .success(ConsoleAddress(host: "::1", port: port))
        default:
            return .failure(.init("'\(host)' is not a loopback address: the console is served on 127.0.0.1 or ::1 only",
                                  hint: "reach it from another machine through `ssh -L PORT:127.0.0.1:PORT HOST` or a TLS reverse proxy"))
        }
    }

    /// `127.0.0.1:8470`, `[::1]:8470`.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Why `api.listen` was refused.
public struct ConsoleAddressError: Error, Sendable {
    public var message: String
    public var hint: String

    init(_ message: String, hint: String = "write for example 127.0.0.1:8470") {
        self.message = message
        self.hint = hint
    }
}
