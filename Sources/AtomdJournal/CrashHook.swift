import Foundation
import Glibc
import Synchronization

/// A testing facility: with `ATOMD_CRASH_AT=N` the process kills itself with
/// SIGKILL at the Nth journal write, before it is committed or, with
/// `ATOMD_CRASH_WHEN=after`, right after. Crash tests use it to stop atomd at
/// every point a real crash could. `ATOMD_CRASH_TALLY=PATH` writes the
/// number of journal writes made so far to PATH after each one, so that a
/// test knows how many points there are to crash at.
public final class CrashHook: Sendable {
    public enum When: String, Sendable {
        case before, after
    }

    private let target: Int?
    private let when: When
    private let tally: String?
    private let writes = Mutex(0)

    public init(at target: Int?, when: When = .before, tally: String? = nil) {
        self.target = target
        self.when = when
        self.tally = tally
    }

    /// Reads `ATOMD_CRASH_AT` and `ATOMD_CRASH_WHEN`, in debug builds only:
    /// no variable in a production agent's environment can make it kill
    /// itself (the crash tests run the debug build).
    public static func fromEnvironment(_ environment: [String: String]) throws(JournalError) -> CrashHook {
        #if DEBUG
        let tally = environment["ATOMD_CRASH_TALLY"]
        guard let text = environment["ATOMD_CRASH_AT"] else { return CrashHook(at: nil, tally: tally) }
        guard let target = Int(text), target > 0 else {
            throw JournalError("ATOMD_CRASH_AT must be a positive number of journal writes, not '\(text)'")
        }
        let whenText = environment["ATOMD_CRASH_WHEN"] ?? "before"
        guard let when = When(rawValue: whenText) else {
            throw JournalError("ATOMD_CRASH_WHEN must be before or after, not '\(whenText)'")
        }
        return CrashHook(at: target, when: when, tally: tally)
        #else
        return CrashHook(at: nil)
        #endif
    }

    /// Whether a crash is armed or writes are tallied: writes are then
    /// committed one at a time (no group commit), so that "the Nth write"
    /// is one transaction of one run, in a tallied run as in a crashed one.
    public var isArmed: Bool { target != nil || tally != nil }

    /// Around one journal write.
    package func write<T>(_ body: () throws -> T) rethrows -> T {
        let number = before()
        let result = try body()
        after(number)
        return result
    }

    /// Around one journal write that is awaited.
    package func write<T>(_ body: () async throws -> T) async rethrows -> T {
        let number = before()
        let result = try await body()
        after(number)
        return result
    }

    /// Counts the write and crashes before it if it is the target; nil when not armed.
    private func before() -> Int? {
        guard isArmed else { return nil }
        let number = writes.withLock { count in
            count += 1
            return count
        }
        if number == target, when == .before { kill(getpid(), SIGKILL) }
        return number
    }

    private func after(_ number: Int?) {
        guard let number else { return }
        if let tally { try? String(number).write(toFile: tally, atomically: true, encoding: .utf8) }
        if number == target, when == .after { kill(getpid(), SIGKILL) }
    }
}
