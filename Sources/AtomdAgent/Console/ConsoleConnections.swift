import Logging

/// The console's connection caps (ConnectionLimiter), apart from its
/// sessions and routes: per local user for a loopback client (every local
/// user can use any 127.x address, so the kernel's socket table names the
/// user), per address for a remote one. A browser opens about six
/// connections to a host; 32 leaves room for several tabs and an event
/// stream in each.
extension ConsoleServer {
    static func connections(log: Logger) -> ConnectionLimiter {
        ConnectionLimiter(name: "the console", total: 256, perPeer: 32, peer: .address, log: log)
    }
}
