import CAtomdShell
import Foundation
import Synchronization

/// A throwaway PostgreSQL cluster of Debian's `postgresql` (scripts/setup
/// installs it): initdb in a temporary directory, run by a non-root user
/// (`postgres` when the tests run as root: PostgreSQL refuses root), its
/// Unix socket in that directory and, for the TLS tests, a loopback port
/// with the test CA's certificate. Local connections are trusted; over TCP
/// the role `atomd` logs in with `password`.
///
/// A watcher process shuts the cluster down (immediate mode) and removes it
/// when the test process exits, however it exits.
public final class PostgresCluster: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// The socket directory; the data directory is `data/` in it.
    public let directory: String
    public let port: Int
    public let bin: String
    /// The role's password over TCP.
    public let password = "atomd-test-password"
    private let runAs: [String]
    private let databases = Atomic(0)

    /// The cluster the journal suites share, each with databases of its own.
    /// Fault tests (restarts) start their own.
    public static func shared() async throws -> PostgresCluster {
        try await Shared.cluster.value
    }

    private enum Shared {
        static let cluster = Task { try await PostgresCluster.start() }
    }

    private init(directory: String, port: Int, bin: String, runAs: [String]) {
        self.directory = directory
        self.port = port
        self.bin = bin
        self.runAs = runAs
    }

    /// The server's binaries: the newest PostgreSQL Debian installed.
    static func binaries() throws -> String {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let newest = versions.compactMap(Int.init).max() else {
            throw Failure("no PostgreSQL under /usr/lib/postgresql: scripts/setup installs Debian's postgresql")
        }
        return "/usr/lib/postgresql/\(newest)/bin"
    }

    /// initdb, then the server on a free loopback port with TLS (the test
    /// CA's 127.0.0.1 certificate) and on its socket; `settings` are more
    /// `-c NAME=VALUE` for the server.
    public static func start(settings: [String: String] = [:], directory given: String? = nil,
                             initdbOptions: [String] = []) async throws -> PostgresCluster {
        let bin = try binaries()
        let directory = given ?? FileManager.default.temporaryDirectory.appendingPathComponent("atomd-pg-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        var runAs: [String] = []
        if geteuid() == 0 {
            guard let user = getpwnam("postgres") else { throw Failure("no user postgres: scripts/setup installs Debian's postgresql") }
            guard chown(directory, user.pointee.pw_uid, user.pointee.pw_gid) == 0 else { throw Failure("cannot chown \(directory)") }
            runAs = ["/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]
        }
        let certificates = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../AtomdHTTPTests/Fixtures/tls").standardizedFileURL.path
        let passwordFile = directory + "/pwfile"
        let cluster = PostgresCluster(directory: directory, port: freePort(), bin: bin, runAs: runAs)
        // Written here, then given to the cluster's user: it may not be
        // able to read the checkout.
        for (name, data) in [("pwfile", Data((cluster.password + "\n").utf8)),
                             ("server.pem", try Data(contentsOf: URL(fileURLWithPath: certificates + "/server.pem"))),
                             ("server.key", try Data(contentsOf: URL(fileURLWithPath: certificates + "/server.key")))] {
            let path = directory + "/" + name
            guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw Failure("cannot write \(path)")
            }
            if let user = geteuid() == 0 ? getpwnam("postgres") : nil { chown(path, user.pointee.pw_uid, user.pointee.pw_gid) }
        }
        try await cluster.asOwner(["/bin/sh", "-c", """
            set -e
            \(bin)/initdb -D \(directory)/data -U atomd --auth-local=trust --auth-host=scram-sha-256 --pwfile=\(passwordFile) \
                -E UTF8 --locale=C.UTF-8 --no-sync \(initdbOptions.joined(separator: " ")) > \(directory)/initdb.log 2>&1
            """])
        let options = ["listen_addresses": "127.0.0.1", "unix_socket_directories": directory, "port": "\(cluster.port)",
                       "ssl": "on", "ssl_cert_file": directory + "/server.pem", "ssl_key_file": directory + "/server.key",
                       "shared_buffers": "16MB", "max_connections": "100", "fsync": "on"].merging(settings) { _, new in new }
        let conf = options.sorted { $0.key < $1.key }.map { "\($0.key) = '\($0.value)'" }.joined(separator: "\n")
        try await cluster.asOwner(["/bin/sh", "-c", "printf '%s\\n' \"$1\" >> \(directory)/data/postgresql.conf", "sh", conf])
        try await cluster.startServer()
        // Stops and removes it when this process is gone: util-linux's
        // `setsid -f` leaves it in a session of its own, outliving this process.
        try await command(["/usr/bin/setsid", "-f", "/bin/sh", "-c", """
            exec </dev/null >/dev/null 2>&1
            while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done
            kill -QUIT "$(head -1 \(directory)/data/postmaster.pid 2>/dev/null)" 2>/dev/null
            sleep 1
            rm -rf \(directory)
            """])
        return cluster
    }

    /// Starts the server (again, after `stop`), waiting until it accepts connections.
    public func startServer() async throws {
        try await asOwner([bin + "/pg_ctl", "-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "60", "start"])
    }

    /// `fast` (clients cut, a clean shutdown) or `immediate` (as a crash).
    public func stop(mode: String = "fast") async throws {
        try await asOwner([bin + "/pg_ctl", "-D", directory + "/data", "-m", mode, "-w", "-t", "60", "stop"])
    }

    /// A new, empty database; its URL over the socket.
    public func createDatabase() async throws -> String {
        let name = "atomd_\(getpid())_\(databases.add(1, ordering: .relaxed).newValue)"
        _ = try await psql("CREATE DATABASE \(name)", database: "postgres")
        return name
    }

    /// The URL of `database` over the Unix socket (trusted).
    public func socketURL(_ database: String) -> String {
        "postgresql://atomd@\(directory.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? directory):\(port)/\(database)"
    }

    /// The URL of `database` over TCP on 127.0.0.1 (TLS and the password).
    public func tcpURL(_ database: String) -> String {
        "postgresql://atomd@127.0.0.1:\(port)/\(database)"
    }

    /// The CA that signed the server's certificate.
    public var caFile: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../AtomdHTTPTests/Fixtures/tls/ca.pem").standardizedFileURL.path
    }

    /// Runs `sql` with psql over the socket; what it printed, unaligned.
    @discardableResult
    public func psql(_ sql: String, database: String, user: String = "atomd") async throws -> String {
        try await run([bin + "/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", directory, "-p", "\(port)", "-U", user,
                       "-d", database, "-c", sql])
    }

    /// Ends every connection to `database` but psql's own, as a failing
    /// network or an administrator would.
    public func terminateBackends(_ database: String) async throws -> Int {
        let killed = try await psql("""
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '\(database)' AND pid <> pg_backend_pid()
            """, database: "postgres")
        return Int(killed.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    private func asOwner(_ command: [String]) async throws {
        _ = try await run(runAs + command)
    }

    /// Runs `command` to its end: what it printed on standard output.
    private func run(_ command: [String]) async throws -> String {
        do {
            return try await Self.command(command)
        } catch let failure as Failure {
            let log = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8))?.suffix(2000) ?? ""
            throw Failure(failure.description + "\nserver.log: " + log)
        }
    }

    /// Runs `command` (as this process's user) to its end, off the
    /// cooperative pool; what it printed; a failure says what it said.
    @discardableResult
    public static func command(_ command: [String]) async throws -> String {
        try await offThePool { try commandNow(command) }
    }

    /// The same, blocking the calling thread (for `defer`).
    /// posix_spawn and waitpid, not Foundation's Process: waiting for
    /// pg_ctl, whose server lives on, Process spun without ever seeing it exit.
    @discardableResult
    public static func commandNow(_ command: [String]) throws -> String {
        let capture = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-pg-command-\(UUID().uuidString.prefix(8))").path
        defer { unlink(capture); unlink(capture + ".err") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, capture, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, capture + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        atomd_spawn_close_from(&actions, 3)
        // From /: the cluster's user may not enter the test's directory.
        let argv = (["/usr/bin/env", "-C", "/"] + command).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/usr/bin/env", &actions, nil, argv, environ)
        guard spawned == 0 else { throw Failure("cannot start \(command[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        guard status == 0 else {
            throw Failure("\(command.joined(separator: " ").prefix(300)) ended with status \(status): \(read(capture + ".err"))")
        }
        return read(capture)
    }

    /// A port nothing listens on now (the kernel's pick for port 0).
    private static func freePort() -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 ? getsockname(descriptor, pointer, &length) : -1
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
