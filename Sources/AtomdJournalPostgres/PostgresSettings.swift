import AtomdJournal
import AtomdSpec
import Foundation
import Logging
import NIOSSL
import PostgresNIO

/// How the journal reaches its database: `journal.postgres` made into a
/// client configuration. The password is read here, once, from its file.
public struct PostgresSettings: Sendable {
    public var config: PostgresJournalConfig
    /// How long a read may wait for the database before the CLI or the
    /// console says it is unreachable.
    public var readTimeout: Duration = .seconds(10)
    /// Connections in the pool: a write per live run, reads beside them.
    public var maximumConnections = 12

    public init(_ config: PostgresJournalConfig) {
        self.config = config
    }

    /// `application_name` of the connections: `atomd` and what it runs as.
    public var applicationName = "atomd"

    /// The URL, for messages: it never holds the password.
    public var location: String { config.url.description }

    /// Fails when the password file is missing, not a regular file, readable
    /// by others, or empty; or when the CA cannot be read.
    func clientConfiguration() throws(JournalError) -> PostgresClient.Configuration {
        let url = config.url
        let password = try config.passwordFile.map { path throws(JournalError) in try Self.password(from: path) }
        var configuration: PostgresClient.Configuration
        if let socket = socketPath {
            configuration = .init(unixSocketPath: socket, username: url.user, password: password, database: url.database)
        } else {
            configuration = .init(host: url.host ?? "", port: url.port, username: url.user, password: password, database: url.database,
                                  tls: try tls().map { .require($0) } ?? .disable)
        }
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.minimumConnections = 0
        configuration.options.additionalStartupParameters = startupParameters
        return configuration
    }

    /// The same, for the one connection that opening makes on its own: the
    /// pool retries a refused login in silence, a connection says why.
    func connectionConfiguration() throws(JournalError) -> PostgresConnection.Configuration {
        let url = config.url
        let password = try config.passwordFile.map { path throws(JournalError) in try Self.password(from: path) }
        var configuration: PostgresConnection.Configuration
        if let socket = socketPath {
            configuration = .init(unixSocketPath: socket, username: url.user, password: password, database: url.database)
        } else {
            var tls = PostgresConnection.Configuration.TLS.disable
            if let settings = try self.tls() {
                do {
                    tls = .require(try NIOSSLContext(configuration: settings))
                } catch {
                    throw JournalError("journal.postgres: cannot set up TLS: \(error)")
                }
            }
            configuration = .init(host: url.host ?? "", port: url.port, username: url.user, password: password, database: url.database, tls: tls)
        }
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.additionalStartupParameters = startupParameters
        return configuration
    }

    private var socketPath: String? {
        config.url.socketDirectory.map { $0 + "/.s.PGSQL.\(config.url.port)" }
    }

    /// Every table is atomd's own schema's; the name tells the server's
    /// administrator whose connections these are (pg_stat_activity).
    private var startupParameters: [(String, String)] {
        [("search_path", "atomd"), ("application_name", applicationName)]
    }

    /// Nil: TLS is off.
    private func tls() throws(JournalError) -> TLSConfiguration? {
        guard config.tls != .disable else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let ca = config.ca {
            guard FileManager.default.isReadableFile(atPath: ca) else {
                throw JournalError("journal.postgres.ca: cannot read \(ca)")
            }
            tls.trustRoots = .file(ca)
        }
        // `require` encrypts; with a CA it also checks the chain (not the
        // name), as libpq does; without one, whoever answers is believed.
        tls.certificateVerification = config.tls == .verifyFull ? .fullVerification
            : config.ca != nil ? .noHostnameVerification : .none
        return tls
    }

    /// The password file: a regular file, not a link, readable by its owner
    /// alone (as the console's TLS key), one line.
    static func password(from path: String) throws(JournalError) -> String {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            throw JournalError("journal.postgres.password_file: cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw JournalError("journal.postgres.password_file: \(path) is not a regular file")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw JournalError("journal.postgres.password_file: \(path) may be read by other users (mode \(String(info.st_mode & 0o777, radix: 8))); chmod 600 \(path)")
        }
        guard info.st_uid == geteuid() || info.st_uid == 0 else {
            throw JournalError("journal.postgres.password_file: \(path) belongs to uid \(info.st_uid), neither root nor atomd's user")
        }
        guard info.st_size <= 4096 else { throw JournalError("journal.postgres.password_file: \(path) is larger than 4 KiB; it holds one password") }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        let count = bytes.isEmpty ? 0 : read(descriptor, &bytes, bytes.count)
        guard count >= 0 else { throw JournalError("journal.postgres.password_file: cannot read \(path): \(String(cString: strerror(errno)))") }
        var password = String(decoding: bytes[..<count], as: UTF8.self)
        while password.hasSuffix("\n") || password.hasSuffix("\r") { password.removeLast() }
        guard !password.isEmpty, !password.contains("\n"), !password.contains("\0") else {
            throw JournalError("journal.postgres.password_file: \(path) must hold the password alone on one line")
        }
        return password
    }
}
