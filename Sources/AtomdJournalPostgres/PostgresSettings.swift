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

/// What a PostgreSQL error says, without the query or its values: PSQLError
/// describes itself generically so as not to leak, and its debug form holds
/// the bound values (a job's text, a run's variables).
enum PostgresErrorText {
    static func describe(_ error: any Error) -> String {
        if let transaction = error as? PostgresTransactionError,
           let cause = transaction.beginError ?? transaction.closureError ?? transaction.commitError ?? transaction.rollbackError {
            return describe(cause)
        }
        guard let error = error as? PSQLError else { return "\(error)" }
        switch error.code {
        case .sslUnsupported: return "the server does not offer TLS (set tls: disable only on a network you trust)"
        case .authMechanismRequiresPassword: return "the server asks for a password, and none was given (password_file)"
        default: break
        }
        if let info = error.serverInfo {
            let state = info[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
            return (info[.message] ?? "the server refused") + state
        }
        let cause = error.underlying.map { ": " + describe($0) } ?? ""
        return "\(error.code)\(cause)"
    }

    /// Whether waiting may help: the server is down, restarting, out of
    /// space or connections, or the connection broke. A refused statement
    /// (a bug, a schema from elsewhere) fails at once.
    static func isOutage(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError else { return error is CancellationError ? false : true }
        guard let state = error.serverInfo?[.sqlState] else {
            switch error.code {
            // What waiting does not mend: TLS or authentication refused, a protocol fault.
            case .sslUnsupported, .failedToAddSSLHandler, .receivedUnencryptedDataAfterSSLRequest, .unsupportedAuthMechanism,
                 .authMechanismRequiresPassword, .saslError, .tooManyParameters, .invalidCommandTag, .messageDecodingFailure,
                 .unexpectedBackendMessage:
                return false
            case .connectionError:
                return !(error.underlying is NIOSSLError || error.underlying is BoringSSLError)
            default:
                return true
            }
        }
        // 08 connection, 53 resources (disk full), 57 operator intervention
        // (shutdown, crash recovery), 58 I/O error, 40 serialization/deadlock.
        return ["08", "53", "57", "58", "40"].contains(String(state.prefix(2)))
    }
}

extension PostgresErrorText {
    /// A row with the same key is already there (SQLSTATE 23505).
    static func isUniqueViolation(_ error: any Error) -> Bool {
        (error as? PSQLError)?.serverInfo?[.sqlState] == "23505"
    }
}

extension PostgresConnection {
    /// Runs a statement to its end, rows and all. An error the server
    /// reports after the statement's first answer (a function failing
    /// midway, a full disk) arrives with the rows: a statement whose rows
    /// are not read may have failed, and been rolled back, unseen.
    func run(_ query: PostgresQuery, logger: Logger) async throws {
        for try await _ in try await self.query(query, logger: logger) {}
    }
}
