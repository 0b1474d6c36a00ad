import AtomdSpec
import Foundation
import Glibc
import Synchronization

/// One step attempt's cgroup (and, on a hybrid layout, its cgroup v1
/// directories for the limits): its processes are added as they start, and
/// when the step ends everything still in it is killed, wherever it went.
final class StepCgroup: Sendable {
    /// The cgroup v2 directory, which tracks and kills.
    let path: String
    /// cgroup v1 directories holding limits v2 cannot set.
    private let legacy: [String]
    private static let counter = Atomic<Int>(0)

    /// Nil when `containment` has no cgroups; the caller then limits with setrlimit.
    /// `keepRunning`: the step's processes outlive it (and atomd); its
    /// cgroup is named `keep-PID-KEY` (KEY from the attempt's key) so that
    /// no later atomd kills them but the step's revert finds them.
    init?(_ containment: Containment, limits: StepLimits?, keepRunning: Bool, attemptKey: String = "") throws(ShellError) {
        guard case .cgroup(let base, let controllers, let legacyBases) = containment else { return nil }
        let name = keepRunning ? "keep-\(getpid())-\(Self.keyHash(attemptKey))"
            : "step-\(getpid())-\(Self.counter.add(1, ordering: .relaxed).newValue)"
        let path = base + "/" + name
        // A re-run of an interrupted keep_running attempt keeps its key.
        guard mkdir(path, 0o755) == 0 || (keepRunning && errno == EEXIST) else {
            throw ShellError("cannot create the step's cgroup \(path): \(String(cString: strerror(errno)))")
        }
        var settings: [(String, String)] = []
        var directories: [String] = []
        func place(_ controller: String, _ file: String, _ value: String) {
            if controllers.contains(controller) {
                settings.append((path + "/" + file, value))
            } else if let base = legacyBases[controller] {
                let directory = base + "/" + name
                if !directories.contains(directory), mkdir(directory, 0o755) == 0 { directories.append(directory) }
                settings.append((directory + "/" + Self.legacyFile[file, default: file], value))
            }
        }
        if let memory = limits?.memory { place("memory", "memory.max", String(memory)) }
        if let pids = limits?.pids { place("pids", "pids.max", String(pids)) }
        if let cpu = limits?.cpu {
            let quota = String(max(1000, Int(cpu * 100_000)))
            if controllers.contains("cpu") { settings.append((path + "/cpu.max", "\(quota) 100000")) } else { place("cpu", "cpu.cfs_quota_us", quota) }
        }
        self.path = path
        legacy = directories
        for (file, value) in settings where !Containment.write(file, value) {
            for directory in legacy + [path] { rmdir(directory) }
            throw ShellError("cannot set \(file) to \(value): \(String(cString: strerror(errno)))")
        }
    }

    /// The cgroup v1 names of the v2 files.
    private static let legacyFile = ["memory.max": "memory.limit_in_bytes", "pids.max": "pids.max", "cpu.cfs_quota_us": "cpu.cfs_quota_us"]

    /// The limits no cgroup controller here can set: memory and pids are
    /// then set with setrlimit on the step's first process (inherited by
    /// what it starts); cpu cannot be.
    static func fallback(_ containment: Containment, limits: StepLimits?) -> StepLimits? {
        guard let limits else { return nil }
        var controllers: Set<String> = []
        if case .cgroup(_, let v2, let legacy) = containment { controllers = v2.union(legacy.keys) }
        let rest = StepLimits(memory: controllers.contains("memory") ? nil : limits.memory,
                              cpu: controllers.contains("cpu") ? nil : limits.cpu,
                              pids: controllers.contains("pids") ? nil : limits.pids)
        return rest == StepLimits() ? nil : rest
    }

    /// The command line that enters the cgroup before it runs `executable`:
    /// a process moved in after it started may already have started others
    /// outside it, so the step's first process moves itself (writing 0 to
    /// `cgroup.procs`), then execs. Costs one exec of /bin/sh.
    func entering(_ executable: String, _ arguments: [String]) -> (String, [String]) {
        let script = #"while [ "$1" != -- ]; do echo 0 > "$1" || exit 126; shift; done; shift; exec "$@""#
        return ("/bin/sh", ["-c", script, "atomd-enter-cgroup"] + ([path] + legacy).map { $0 + "/cgroup.procs" }
                    + ["--", executable] + arguments)
    }

    /// Kills everything in the cgroup, even processes that left the step's
    /// process group and dropped its token.
    func kill() {
        if !Containment.write(path + "/cgroup.kill", "1") {
            // Kernels before 5.14: no cgroup.kill; signal each member.
            for line in Containment.read(path + "/cgroup.procs").split(separator: "\n") {
                if let pid = pid_t(line) { Glibc.kill(pid, SIGKILL) }
            }
        }
    }

    /// Whether a process is still in the cgroup.
    var isPopulated: Bool {
        Containment.read(path + "/cgroup.events").contains("populated 1")
    }

    /// FNV-1a of an attempt's key, in hex: a cgroup name, the same in
    /// every atomd process (the revert may run after a restart).
    static func keyHash(_ key: String) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01B3
        }
        return String(hash, radix: 16)
    }

    /// The revert of a `keep_running` step: kills everything in the cgroups
    /// its attempt left (whichever atomd made them), also what dropped the
    /// token and left the process group, and removes them. Returns how
    /// many cgroups it found.
    static func killKept(_ containment: Containment, attemptKey: String) async -> Int {
        guard case .cgroup(let base, _, _) = containment else { return 0 }
        let suffix = "-" + keyHash(attemptKey)
        let kept = FileIO.list(base).filter { $0.hasPrefix("keep-") && $0.hasSuffix(suffix) && $0.split(separator: "-").count == 3 }
        for name in kept {
            let path = base + "/" + name
            if !Containment.write(path + "/cgroup.kill", "1") {
                for line in Containment.read(path + "/cgroup.procs").split(separator: "\n") {
                    if let pid = pid_t(line) { Glibc.kill(pid, SIGKILL) }
                }
            }
            let deadline = ContinuousClock.now + .seconds(2)
            while Containment.read(path + "/cgroup.events").contains("populated 1"), ContinuousClock.now < deadline {
                ProcessTree.reapOrphans()
                try? await Task.sleep(for: .milliseconds(1))
            }
            rmdir(path)
        }
        return kept.count
    }

    /// Removes the directories once their processes are gone (a killed
    /// process leaves its cgroup when it has been reaped).
    func remove() async {
        let deadline = ContinuousClock.now + .seconds(2)
        while isPopulated, ContinuousClock.now < deadline {
            ProcessTree.reapOrphans()
            try? await Task.sleep(for: .milliseconds(1))
        }
        for directory in legacy + [path] { rmdir(directory) }
    }
}
