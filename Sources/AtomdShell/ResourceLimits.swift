import AtomdSpec
import CAtomdShell
import Glibc

/// Limits where no cgroup controller can set them: setrlimit on the step's
/// first process, which what it starts inherits. Per process, not for the
/// step as a whole: `memory` bounds each process's address space
/// (RLIMIT_AS) and `pids` the processes of the step's user (RLIMIT_NPROC,
/// which root ignores).
enum ResourceLimits {
    static func apply(_ limits: StepLimits, to pid: pid_t) {
        if let memory = limits.memory { _ = atomd_limit_process(pid, 0, UInt64(memory)) }
        if let pids = limits.pids { _ = atomd_limit_process(pid, 1, UInt64(pids)) }
    }
}
