import AtomdSpec
import Foundation

/// `api.run_as`: the users a job given to the agent (through its socket or
/// its spool) may act as. Whoever may submit jobs can otherwise run
/// anything as atomd's user, root on a host install. A `run:` action acts
/// as its `user:`, or as atomd's user without one; a plugin step acts as
/// atomd's user; an http step does not act on the host.
enum RunAsPolicy {
    /// Every action of `job` that acts as a user not in `allowed`.
    static func violations(_ job: Job, file: String, allowed: Set<String>) -> [Diagnostic] {
        let agentUser = getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid \(geteuid())"
        let listed = allowed.sorted().joined(separator: ", ")
        var found: [Diagnostic] = []
        for step in job.allSteps {
            for (place, action) in step.actions {
                let what = "step '\(step.id)'" + (place.isEmpty ? "" : " (its \(place))")
                switch action {
                case .run(let shell):
                    guard let user = shell.user else {
                        if !allowed.contains(agentUser) {
                            found.append(Diagnostic(file: file, location: step.location,
                                                    message: "\(what) would run as \(agentUser), which api.run_as does not allow",
                                                    hint: "add user: with one of \(listed)"))
                        }
                        continue
                    }
                    guard let name = user.literalText else {
                        found.append(Diagnostic(file: file, location: user.location,
                                                message: "\(what) computes its user:, and api.run_as needs to know it before the run",
                                                hint: "write one of \(listed) literally"))
                        continue
                    }
                    if !allowed.contains(name) {
                        found.append(Diagnostic(file: file, location: user.location,
                                                message: "\(what) runs as \(name), which api.run_as does not allow",
                                                hint: "use one of \(listed)"))
                    }
                case .plugin where !allowed.contains(agentUser):
                    found.append(Diagnostic(file: file, location: step.location,
                                            message: "\(what) runs a plugin atom as \(agentUser), which api.run_as does not allow",
                                            hint: "ask the operator to list \(agentUser) in api.run_as, or use run: with one of \(listed)"))
                case .plugin, .http, .group: continue
                }
            }
        }
        return found
    }
}
