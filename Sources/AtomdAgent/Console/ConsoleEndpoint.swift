import AtomdSpec
import Synchronization

/// Where the console listens once bound (`api.listen` may ask for port 0),
/// and the names and origins its requests may carry.
final class ConsoleEndpoint: Sendable {
    let address: ConsoleAddress
    private let bound = Atomic<Int>(0)

    init(address: ConsoleAddress) {
        self.address = address
    }

    var port: Int {
        let port = bound.load(ordering: .acquiring)
        return port == 0 ? address.port : port
    }

    func bind(port: Int) {
        bound.store(port, ordering: .releasing)
    }

    /// `127.0.0.1:PORT` or `[::1]:PORT`, and `localhost:PORT`.
    var hosts: Set<String> {
        let port = port
        return [ConsoleAddress(host: address.host, port: port).description, "localhost:\(port)"]
    }

    var origins: Set<String> { Set(hosts.map { "http://" + $0 }) }

    /// The link `atomd console` prints.
    func loginURL(token: String) -> String {
        "http://\(ConsoleAddress(host: address.host, port: port))/login?token=\(token)"
    }
}
