import CAtomdShell
import Foundation
import Glibc
import Synchronization

/// Stops what a step started: its process group, and processes that left the
/// group (double-forked daemons) but still carry the step's token in their
/// environment. With the agent as child subreaper, such orphans become the
/// agent's children, so looking at its own children finds them.
enum ProcessTree {
    /// Set in every step's environment to a value unique to that attempt.
    static let tokenVariable = "ATOMD_PROCESS_TOKEN"

    /// Makes this process the subreaper of its descendants (once per process),
    /// and starts the thread that reaps the orphans it is handed.
    static let becomeSubreaper: Bool = {
        guard atomd_set_child_subreaper() == 0 else { return false }
        OrphanReaper.start()
        return true
    }()

    /// Reaps every adopted orphan of a step that has exited. A killed
    /// daemon of a step would otherwise stay a zombie of atomd, and
    /// `kill -0 PID` (the natural check of a stopped service) would still
    /// say it is there.
    ///
    /// Only a step's orphans: a process in a step's session that does not
    /// lead it. Our own spawns are reaped by whoever waits for them, and
    /// they are either a step's session leader or in atomd's own session;
    /// a child whose spawning thread exited can show up in the list below,
    /// and must not be taken from its waiter.
    static func reapOrphans() {
        let ownSession = getsid(0)
        for pid in children() {
            guard let (state, session) = stat(pid), state == "Z", session != pid, session != ownSession else { continue }
            waitpid(pid, nil, WNOHANG)
        }
    }

    /// The state letter and session id in `/proc/PID/stat`.
    private static func stat(_ pid: pid_t) -> (Character, pid_t)? {
        let text = String(decoding: FileIO.read("/proc/\(pid)/stat", limit: 4096), as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return nil }
        // After "pid (comm)": state ppid pgrp session ...
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 3, let state = fields[0].first, let session = pid_t(fields[3]) else { return nil }
        return (state, session)
    }

    static func isAlive(group: pid_t) -> Bool {
        kill(-group, 0) == 0 || errno == EPERM
    }

    /// SIGTERM to the group, up to `grace` for it to go, then SIGKILL. With
    /// `reap`, zombies of the group that are our children (orphans handed to
    /// us as subreaper) are collected as they appear; only safe once the
    /// library has reaped the group's leader itself.
    static func terminate(group: pid_t, grace: Duration, reap: Bool) async {
        guard group > 1 else { return }
        if reap { reapZombies(group: group) }
        guard isAlive(group: group) else { return }
        kill(-group, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline {
            if reap { reapZombies(group: group) }
            guard isAlive(group: group) else { return }
            // Cancelled: whoever asked no longer waits for the group to go.
            do { try await Task.sleep(for: .milliseconds(10)) } catch { return }
        }
        kill(-group, SIGKILL)
        if reap {
            for _ in 0..<100 where isAlive(group: group) {
                reapZombies(group: group)
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    private static func reapZombies(group: pid_t) {
        while waitpid(-group, nil, WNOHANG) > 0 {}
    }

    /// Stops every process that carries `token` and is this process's child
    /// (an orphan re-parented to us), then reaps it. Repeats while stopping
    /// one re-parents its own children to us.
    static func terminateOrphans(token: String, grace: Duration) async {
        for _ in 0..<8 {
            let orphans = children().filter { carries($0, token: token) }
            guard !orphans.isEmpty else { return }
            for pid in orphans { kill(pid, SIGTERM) }
            let deadline = ContinuousClock.now + grace
            var remaining = orphans
            while !remaining.isEmpty, ContinuousClock.now < deadline {
                remaining = remaining.filter { waitpid($0, nil, WNOHANG) == 0 }
                if !remaining.isEmpty { try? await Task.sleep(for: .milliseconds(10)) }
            }
            for pid in remaining {
                kill(pid, SIGKILL)
                waitpid(pid, nil, 0)
            }
        }
    }

    /// Recovery: stops every process on the machine whose token starts with
    /// `prefix` (an interrupted attempt's idempotency key), with its process
    /// group: SIGTERM, up to `grace`, then SIGKILL. The token, unique to one
    /// run, tells them apart from processes that merely reuse a recorded pid.
    static func terminateInterrupted(prefix: String, grace: Duration) async -> [pid_t] {
        let carrying = { (pid: pid_t) in carries(pid, tokenPrefix: prefix) }
        let found = allProcesses().filter(carrying)
        guard !found.isEmpty else { return [] }
        signal(found, SIGTERM, while: carrying)
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline, found.contains(where: { isRunning($0) && carrying($0) }) {
            reap(found)
            try? await Task.sleep(for: .milliseconds(10))
        }
        // Looked up again: an id freed during the grace period may be
        // someone else's by now, and what forked meanwhile is new.
        for _ in 0..<8 {
            let left = allProcesses().filter(carrying)
            guard !left.isEmpty else { break }
            signal(left, SIGKILL, while: carrying)
            try? await Task.sleep(for: .milliseconds(10))
            reap(left)
        }
        reap(found)
        return found
    }

    /// Signals each process that still carries the token, and the process
    /// group of each that leads one: a group whose leader carries the token
    /// is the step's, and holds what cleared its environment.
    private static func signal(_ pids: [pid_t], _ signal: Int32, while carrying: (pid_t) -> Bool) {
        for pid in pids where carrying(pid) {
            if getpgid(pid) == pid { kill(-pid, signal) }
            kill(pid, signal)
        }
    }

    /// Collects those of `pids` that are this process's children (orphans
    /// handed to the subreaper): a killed daemon that led its own session
    /// would otherwise stay a zombie of the agent.
    private static func reap(_ pids: [pid_t]) {
        for pid in pids { waitpid(pid, nil, WNOHANG) }
    }

    private static func allProcesses() -> [pid_t] {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap { pid_t($0) }.filter { $0 != getpid() } ?? []
    }

    /// Alive and not a zombie waiting for a parent that does not reap it.
    private static func isRunning(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0, let (state, _) = stat(pid) else { return false }
        return state != "Z"
    }

    private static func carries(_ pid: pid_t, tokenPrefix: String) -> Bool {
        let environment = FileIO.read("/proc/\(pid)/environ", limit: 1 << 20)
        let needle = Array("\(tokenVariable)=\(tokenPrefix)".utf8)
        return environment.split(separator: 0).contains { $0.starts(with: needle) }
    }

    /// Orphans handed to this process as subreaper. The kernel gives them to
    /// an alive thread of the reaper, the thread-group leader while it lives,
    /// so its `children` list is the one place to look; our own spawns belong
    /// to whichever thread forked them and are not orphans.
    static func children() -> [pid_t] {
        let text = FileIO.read("/proc/self/task/\(getpid())/children", limit: 1 << 20)
        return text.split(separator: UInt8(ascii: " ")).compactMap {
            pid_t(String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    private static func carries(_ pid: pid_t, token: String) -> Bool {
        let environment = FileIO.read("/proc/\(pid)/environ", limit: 1 << 20)
        let needle = Array("\(tokenVariable)=\(token)".utf8)
        return environment.split(separator: 0).contains { Array($0) == needle }
    }
}
