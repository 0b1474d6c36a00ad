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

    /// Makes this process the subreaper of its descendants (once per process).
    static let becomeSubreaper: Bool = atomd_set_child_subreaper() == 0

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
