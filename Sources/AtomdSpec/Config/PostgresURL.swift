import Foundation

/// Where a PostgreSQL journal is: `postgresql://USER@HOST[:PORT]/DATABASE`,
/// or a Unix socket's directory as the host
/// (`postgresql://USER@%2Frun%2Fpostgresql/DATABASE`, or `?host=/run/postgresql`).
///
/// A password is refused: a URL ends up on command lines, in `ps` and in
/// logs, so credentials come from `password_file` only.
public struct PostgresURL: Sendable, Hashable, CustomStringConvertible {
    public var user: String
    /// A host name or IP address; nil when `socketDirectory` is set.
    public var host: String?
    public var port: Int
    /// The directory of the server's socket (`.s.PGSQL.PORT` in it).
    public var socketDirectory: String?
    public var database: String

    public init(user: String, host: String?, port: Int = 5432, socketDirectory: String? = nil, database: String) {
        self.user = user
        self.host = host
        self.port = port
        self.socketDirectory = socketDirectory
        self.database = database
    }

    /// The URL as written (it never holds a password), for messages.
    public var description: String {
        let place = socketDirectory.map { $0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0 } ?? hostForURL
        let portText = port != 5432 ? ":\(port)" : ""
        return "postgresql://\(user)@\(place)\(portText)/\(database)"
    }

    private var hostForURL: String {
        guard let host else { return "" }
        return host.contains(":") ? "[\(host)]" : host
    }

    /// True for URLs this parser would take: `postgres://` or `postgresql://`.
    public static func looksLikeOne(_ text: String) -> Bool {
        text.hasPrefix("postgresql://") || text.hasPrefix("postgres://")
    }

    /// The URL, or what is wrong with `text` and how to write it.
    public static func parse(_ text: String) -> Result<PostgresURL, AddressError> {
        let example = "for example postgresql://atomd@db.example/atomd (the password goes in password_file)"
        guard looksLikeOne(text), !text.contains("\0"), text.utf8.count <= 1024,
              let components = URLComponents(string: text) else {
            // Not echoed: it may be a connection string with a password in it.
            return .failure(.init("the journal's URL is not a postgresql:// URL", hint: example))
        }
        guard components.password == nil else {
            return .failure(.init("the URL holds a password, which would be seen in process lists and logs",
                                  hint: "remove it from the URL and put it in a file of mode 0600 named by password_file"))
        }
        guard let user = components.user, !user.isEmpty else {
            return .failure(.init("the URL names no user", hint: example))
        }
        // An encoded ':' would read as USER:PASSWORD to anyone who sees the URL.
        guard !user.contains(":"), !user.contains("@"), !user.contains("\0"), user.utf8.count <= 63 else {
            return .failure(.init("the URL's user name holds ':' or '@', as a password would, or is longer than 63 bytes",
                                  hint: "remove it from the URL and put the password in a file of mode 0600 named by password_file"))
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            return .failure(.init("the URL names no database (its path)", hint: example))
        }
        var port = 5432
        if let given = components.port {
            guard (1...65535).contains(given) else { return .failure(.init("the port \(given) is not from 1 to 65535", hint: example)) }
            port = given
        }
        var socket: String?
        var host = components.host.flatMap { $0.isEmpty ? nil : $0 }
        for item in components.queryItems ?? [] {
            switch item.name {
            case "host": socket = item.value
            case "port":
                guard let value = item.value.flatMap(Int.init), (1...65535).contains(value) else {
                    return .failure(.init("the port '\(item.value ?? "")' is not a number from 1 to 65535", hint: example))
                }
                port = value
            default:
                return .failure(.init("the URL's parameter '\(item.name)' is not one atomd reads",
                                      hint: "tls and ca are keys of journal.postgres; only ?host=SOCKET_DIRECTORY and ?port= go in the URL"))
            }
        }
        if let decoded = host?.removingPercentEncoding, decoded.hasPrefix("/") {
            socket = decoded
            host = nil
        }
        if let directory = socket {
            guard directory.hasPrefix("/") else {
                return .failure(.init("the socket directory '\(directory)' is not an absolute path", hint: "for example ?host=/run/postgresql"))
            }
            host = nil
        } else if host == nil {
            return .failure(.init("the URL names no host", hint: example))
        }
        if let host, host.hasPrefix("["), host.hasSuffix("]") {
            return .success(PostgresURL(user: user, host: String(host.dropFirst().dropLast()), port: port, database: database))
        }
        return .success(PostgresURL(user: user, host: host, port: port, socketDirectory: socket, database: database))
    }
}

/// `journal:` in the agent configuration. Nil `postgres`: the embedded
/// SQLite journal, HOME/journal.sqlite.
public struct JournalConfig: Sendable, Hashable {
    public var postgres: PostgresJournalConfig?

    public init(postgres: PostgresJournalConfig? = nil) {
        self.postgres = postgres
    }
}

/// `journal.postgres`: the journal in a PostgreSQL database.
public struct PostgresJournalConfig: Sendable, Hashable {
    /// `verify-full` checks the server's certificate and name; `require`
    /// encrypts without checking who answers; `disable` sends in clear
    /// (for a Unix socket, or a network the operator trusts).
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        case verifyFull = "verify-full", require, disable
    }

    public var url: PostgresURL
    /// The password, alone in a file of mode 0600 (nil: none, for peer or
    /// trust authentication over a socket).
    public var passwordFile: String?
    /// Default `verify-full` over TCP; a Unix socket never uses TLS.
    public var tls: TLSMode
    /// The CA certificates (PEM) that `verify-full` and `require` trust;
    /// nil: the system's.
    public var ca: String?
    /// How long writes are retried while the database cannot be reached
    /// before the run stops as on a crash.
    public var outage: Duration
    /// Accept a server whose `synchronous_commit` (or `fsync`) is off.
    public var allowAsync: Bool

    public static let defaultOutage: Duration = .seconds(60)

    public init(url: PostgresURL, passwordFile: String? = nil, tls: TLSMode? = nil, ca: String? = nil,
                outage: Duration = Self.defaultOutage, allowAsync: Bool = false) {
        self.url = url
        self.passwordFile = passwordFile
        self.tls = tls ?? (url.socketDirectory == nil ? .verifyFull : .disable)
        self.ca = ca
        self.outage = outage
        self.allowAsync = allowAsync
    }
}
