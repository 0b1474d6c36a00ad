import AtomdJournal
import Logging
import NIOSSL
import PostgresNIO

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
