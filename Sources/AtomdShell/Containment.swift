import Foundation
import Glibc

/// How a step's processes are held together, stopped and limited. A process
/// can leave its process group (`setsid`) and drop the token from its
/// environment (`env -i`); it cannot leave a cgroup, so where atomd can make
/// one, each step gets one and is killed as a whole with `cgroup.kill`.
public enum Containment: Sendable, Equatable, CustomStringConvertible {
    /// Each step in a cgroup v2 of its own under `base`. `controllers`: what
    /// the v2 tree can limit (memory, pids, cpu); `legacy`: cgroup v1
    /// directories, by controller, for the limits v2 cannot set (the hybrid
    /// layout: v1 controllers, a controller-less v2 tree at `unified`).
    case cgroup(base: String, controllers: Set<String>, legacy: [String: String])
    /// No cgroup could be made: the step's process group and the token in
    /// its processes' environment, and limits through setrlimit.
    case processGroups(reason: String)

    /// What this process can use, found once.
    public static let detected = detect()

    public var description: String {
        switch self {
        case .cgroup(let base, let controllers, let legacy):
            let v2 = controllers.sorted().joined(separator: ", ")
            let v1 = legacy.keys.sorted().joined(separator: ", ")
            return "a cgroup v2 per step under \(base), killed with cgroup.kill; limits: "
                + (v2.isEmpty && v1.isEmpty ? "setrlimit (no memory, pids or cpu controller)"
                    : [v2.isEmpty ? nil : "v2 \(v2)", v1.isEmpty ? nil : "v1 \(v1)"].compactMap(\.self).joined(separator: "; "))
        case .processGroups(let reason):
            return "process groups and an environment token (\(reason)); limits: setrlimit"
        }
    }

    static let limitControllers = ["memory", "pids", "cpu"]

    static func detect(mountInfo: String = read("/proc/self/mountinfo"), cgroups: String = read("/proc/self/cgroup")) -> Containment {
        let membership = Dictionary(cgroups.split(separator: "\n").compactMap { line -> (String, String)? in
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            return fields.count == 3 ? (String(fields[1]), String(fields[2])) : nil
        }, uniquingKeysWith: { first, _ in first })
        let mounts = mountInfo.split(separator: "\n").compactMap(Mount.init)
        guard let v2 = mounts.first(where: { $0.type == "cgroup2" }), let ownPath = membership[""] else {
            return .processGroups(reason: "no cgroup v2 hierarchy is mounted")
        }
        let own = v2.point + (ownPath == "/" ? "" : ownPath)
        let available = Set(read(own + "/cgroup.controllers").split(whereSeparator: \.isWhitespace).map(String.init))
        var controllers = available.intersection(limitControllers)
        if !controllers.isEmpty, !delegate(own, controllers: controllers) { controllers = [] }
        let base = own + "/atomd"
        guard mkdir(base, 0o755) == 0 || errno == EEXIST else {
            return .processGroups(reason: "cannot create \(base): \(String(cString: strerror(errno)))")
        }
        // The tree may be there and not ours (root made it; this is a user's
        // `atomd run`): a step cgroup is tried once here, not failed per step.
        let probe = base + "/probe-\(getpid())"
        guard mkdir(probe, 0o755) == 0 || errno == EEXIST else {
            return .processGroups(reason: "cannot create cgroups under \(base) as uid \(geteuid()): \(String(cString: strerror(errno))); "
                                  + "a service with Delegate=yes, or root, gets a cgroup per step")
        }
        rmdir(probe)
        if !controllers.isEmpty {
            write(base + "/cgroup.subtree_control", controllers.sorted().map { "+" + $0 }.joined(separator: " "))
        }
        sweepAbandoned(base)
        var legacy: [String: String] = [:]
        for controller in limitControllers where !controllers.contains(controller) {
            guard let mount = mounts.first(where: { $0.type == "cgroup" && $0.options.contains(Substring(controller)) }),
                  let path = membership.first(where: { $0.key.split(separator: ",").contains(Substring(controller)) })?.value
            else { continue }
            let directory = mount.point + (path == "/" ? "" : path) + "/atomd"
            if mkdir(directory, 0o755) == 0 || errno == EEXIST { legacy[controller] = directory }
        }
        return .cgroup(base: base, controllers: controllers, legacy: legacy)
    }

    /// Controllers can be handed to child cgroups only by a cgroup without
    /// processes of its own: the agent moves into a leaf (`own/agent`) first,
    /// as a service with `Delegate=yes` is meant to.
    private static func delegate(_ own: String, controllers: Set<String>) -> Bool {
        let enable = controllers.sorted().map { "+" + $0 }.joined(separator: " ")
        if write(own + "/cgroup.subtree_control", enable) { return true }
        let leaf = own + "/agent"
        guard mkdir(leaf, 0o755) == 0 || errno == EEXIST, write(leaf + "/cgroup.procs", String(getpid())) else { return false }
        return write(own + "/cgroup.subtree_control", enable)
    }

    /// Steps of an atomd that died (`step-PID-N` whose PID is gone) are
    /// killed and their cgroups removed, as recovery kills a step's recorded
    /// process group before running the step again. What a `keep_running`
    /// step left (`keep-PID-N`) is a service meant to outlive atomd: its
    /// cgroup is removed only once empty.
    private static func sweepAbandoned(_ base: String) {
        for name in FileIO.list(base) {
            let fields = name.split(separator: "-")
            guard fields.count == 3, fields[0] == "step" || fields[0] == "keep", let owner = pid_t(fields[1]),
                  kill(owner, 0) != 0, errno == ESRCH
            else { continue }
            if fields[0] == "step" { write(base + "/" + name + "/cgroup.kill", "1") }
            rmdir(base + "/" + name)
        }
    }

    private struct Mount {
        var point: String
        var type: String
        var options: [Substring]

        /// A line of /proc/self/mountinfo: the mount point is field 5, the
        /// type and super options follow the " - " separator.
        init?(_ line: Substring) {
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { return nil }
            let left = halves[0].split(separator: " "), right = halves[1].split(separator: " ")
            guard left.count >= 5, right.count >= 3 else { return nil }
            point = String(left[4])
            type = String(right[0])
            options = right[2].split(separator: ",")
        }
    }

    static func read(_ path: String) -> String {
        String(decoding: FileIO.read(path, limit: 1 << 20), as: UTF8.self)
    }

    @discardableResult
    static func write(_ path: String, _ text: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return text.withCString { Glibc.write(fd, $0, strlen($0)) } == text.utf8.count
    }
}
