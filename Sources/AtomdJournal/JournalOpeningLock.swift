import Foundation

/// Serializes opening a journal between processes: two `atomd` commands
/// started at once on a new home would otherwise both find the schema
/// missing and both create it (GRDB reads which migrations are applied
/// outside the transaction that applies them), and one would fail.
///
/// The lock is `flock` on the journal's directory: it adds no file to the
/// home and cannot interfere with SQLite's own `fcntl` locks on the database.
/// The kernel drops it if the holder dies, so a crash never leaves it held.
enum JournalOpeningLock {
    /// Runs `body` holding the lock of `directory`, waiting up to `limit`
    /// for another process to finish opening.
    static func holding<T>(directory: String, limit: Duration = .seconds(10),
                           _ body: () throws(JournalError) -> T) throws(JournalError) -> T {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw JournalError("cannot open the directory \(directory): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let deadline = ContinuousClock.now + limit
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let error = errno
            guard error == EWOULDBLOCK || error == EINTR, ContinuousClock.now < deadline else {
                let reason = error == EWOULDBLOCK
                    ? "another atomd process has been opening it for \(limit) (is one stopped or hung?)"
                    : String(cString: strerror(error))
                throw JournalError("cannot lock \(directory) to open its journal: \(reason)")
            }
            // Opening takes milliseconds; polling keeps the wait bounded.
            usleep(5_000)
        }
        return try body()
    }
}
