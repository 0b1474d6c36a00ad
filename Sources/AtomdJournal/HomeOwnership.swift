import Foundation

/// Who owns a home (its journal, its runs) while they run: an agent alone,
/// or any number of `atomd run`, `resume` and `rehearse` commands side by
/// side, never both. Two agents on one home each took the other's live runs
/// for interrupted ones, killed their steps and compensated them twice.
///
/// The lock is `flock` on `HOME/owner.lock`, held for the owner's life
/// (`O_CLOEXEC`: a step the owner starts never inherits it), so the kernel
/// frees it when the owner dies, however it dies. The agent writes who it is
/// into the file for the refusal to name; the file says nothing otherwise.
public final class HomeOwnership: Sendable {
    public enum Kind: Sendable {
        /// The one owner: `atomd agent`.
        case agent
        /// A co-owner with others of its kind: `atomd run`, `resume`, `rehearse`.
        case command
    }

    private let descriptor: Int32

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    /// Takes the home for `kind`, or says at once who holds it.
    public static func claim(home: String, as kind: Kind) throws(JournalError) -> HomeOwnership {
        let path = home + "/owner.lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            throw JournalError("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, (kind == .agent ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 else {
            let error = errno
            let holder = Self.holder(descriptor)
            close(descriptor)
            guard error == EWOULDBLOCK else {
                throw JournalError("cannot lock \(path): \(String(cString: strerror(error)))")
            }
            throw JournalError(kind == .agent
                ? "\(home) is in use by \(holder ?? "atomd run, resume or rehearse"); one agent owns a home at a time (stop the other, or give this one its own --home)"
                : "\(home) is owned by \(holder ?? "a running atomd agent"); submit the job to it (atomd submit, atomd resume RUN through its socket), or stop it first")
        }
        // A command clears what a dead agent left there; the agent says who it is.
        _ = ftruncate(descriptor, 0)
        if kind == .agent {
            let note = "atomd agent, pid \(getpid()), since \(Date().formatted(.iso8601))\n"
            _ = note.withCString { pwrite(descriptor, $0, strlen($0), 0) }
        }
        return HomeOwnership(descriptor: descriptor)
    }

    /// What the owner wrote about itself, if anything (an agent does).
    private static func holder(_ descriptor: Int32) -> String? {
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = pread(descriptor, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}
