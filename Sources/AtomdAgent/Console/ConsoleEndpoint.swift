import AtomdSpec
import Foundation
import Synchronization

/// Where the console listens once bound (`api.listen` may ask for port 0),
/// whether it speaks HTTPS, and the names its requests may carry.
final class ConsoleEndpoint: Sendable {
    let address: ConsoleAddress
    let tls: ConsoleTLS?
    private let bound = Atomic<Int>(0)

    init(address: ConsoleAddress, tls: ConsoleTLS?) {
        self.address = address
        self.tls = tls
    }

    var port: Int {
        let port = bound.load(ordering: .acquiring)
        return port == 0 ? address.port : port
    }

    func bind(port: Int) {
        bound.store(port, ordering: .releasing)
    }

    var scheme: String { tls == nil ? "http" : "https" }

    /// Whether a request's Host header names this console. Over plain HTTP
    /// (loopback only) just `127.0.0.1:PORT`, `[::1]:PORT` and
    /// `localhost:PORT`: a page whose own name resolves to 127.0.0.1 (DNS
    /// rebinding) is refused. Over HTTPS any name: the browser has checked
    /// it against the certificate, which a rebinding name cannot pass.
    func accepts(host: String) -> Bool {
        guard tls == nil else { return true }
        let port = port
        return [ConsoleAddress(host: address.host, port: port).description, "localhost:\(port)"].contains(host)
    }

    /// The link `atomd console` prints; an agent listening on every address
    /// is reached by this machine's name. The token rides in the #fragment:
    /// the browser never sends it (no server or proxy log, no Referer), and
    /// the page's script trades it for a session.
    func loginURL(token: String) -> String {
        var host = ConsoleAddress(host: address.host, port: port).description
        if address.isUnspecified {
            var name = [CChar](repeating: 0, count: 256)
            host = (gethostname(&name, name.count) == 0 ? String(cString: name) : "localhost") + ":\(port)"
        }
        return "\(scheme)://\(host)/login#token=\(token)"
    }
}
