import CAtomdShell
import Foundation
import Glibc

/// Reaps the orphans atomd adopts as child subreaper the moment they exit:
/// a SIGCHLD handler wakes a thread of its own (a blocking read must not
/// hold a cooperative thread), which reaps every exited orphan. A stopped
/// service then disappears at once instead of lingering as a zombie that
/// `kill -0` still finds.
enum OrphanReaper {
    static func start() {
        let wakeups = atomd_watch_child_exits()
        guard wakeups >= 0 else { return }
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 64)
            while true {
                let count = read(wakeups, &buffer, buffer.count)
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { return }
                ProcessTree.reapOrphans()
            }
        }
        thread.name = "atomd-orphan-reaper"
        thread.start()
    }
}
