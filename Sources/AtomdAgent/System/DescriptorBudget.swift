import Foundation
import Glibc
import Synchronization

/// The agent's file descriptors. Every step and every revert needs some
/// (pipes, its log, a pidfd, the plugin host's pipes, the journal's files):
/// when clients used them all, reverts failed with "Too many open files"
/// and runs ended revert_failed (issue 31). So the soft limit is raised to
/// the hard one at start, and the servers refuse connections once fewer
/// than `reserve` descriptors are free: whatever clients do, steps and
/// reverts keep theirs.
enum DescriptorBudget {
    /// Free descriptors kept for runs: a shell step takes about ten at
    /// once (three pipes, its log, a pidfd, the cgroup's files), a plugin
    /// host four; 256 is room for `max_runs` steps in flight and their reverts.
    static let reserve = 256

    /// Raises the soft RLIMIT_NOFILE to the hard one (systemd's
    /// `LimitNOFILE=` sets the hard limit; the soft one stays at 1024 for
    /// programs that use select()). Returns the limits before and after.
    @discardableResult
    static func raiseSoftLimit() -> (before: Int, after: Int) {
        var limits = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limits) == 0 else { return (0, 0) }
        let before = Int(clamping: limits.rlim_cur)
        guard limits.rlim_cur < limits.rlim_max else { return (before, before) }
        var raised = limits
        raised.rlim_cur = limits.rlim_max
        guard setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 else { return (before, before) }
        return (before, Int(clamping: raised.rlim_cur))
    }

    /// The soft limit now.
    static var limit: Int {
        var limits = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limits) == 0 else { return 1024 }
        return Int(clamping: limits.rlim_cur)
    }

    /// Descriptors open now, counted in /proc/self/fd (the directory's own
    /// descriptor is not counted).
    static func openCount() -> Int? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            if UInt8(bitPattern: entry.pointee.d_name.0) != UInt8(ascii: ".") { count += 1 }
        }
        return max(count - 1, 0)
    }

    private static let cached = Mutex<(free: Int, at: ContinuousClock.Instant)?>(nil)

    /// Free descriptors, counted at most every 50 ms: a flood of connections
    /// would otherwise read /proc/self/fd once per connection. Unknown
    /// (no /proc) counts as plenty: connection caps still hold.
    static func free() -> Int {
        let now = ContinuousClock.now
        if let last = cached.withLock({ $0 }), now - last.at < .milliseconds(50) { return last.free }
        let free = openCount().map { limit - $0 } ?? .max
        cached.withLock { $0 = (free, now) }
        return free
    }
}
