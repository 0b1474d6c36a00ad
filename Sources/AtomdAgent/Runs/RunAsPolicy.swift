import AtomdSpec
import Foundation

/// `api.run_as`: what a job may act as and read when it comes from a
/// submitter other than root or the agent's user. Whoever may submit jobs
/// could otherwise run anything as atomd's user, root on a host install.
/// - A `run:` action acts as its `user:`, or as atomd's user without one; a
///   plugin step acts as atomd's user; an http step does not act on the host.
/// - It runs with that user's primary group unless `group:` names another,
///   which must be one of the user's own groups (as `id USER` lists them)
///   or one `groups:` lists.
/// - Secrets come only from files under the directories `secrets:` lists,
///   never from the agent's environment.
public struct RunAsPolicy: Sendable, Hashable {
    public var users: Set<String>
    public var groups: Set<String>
    /// Absolute directories, without a trailing '/'.
    public var secretDirectories: [String]

    public init(_ config: RunAsConfig) {
        users = Set(config.users)
        groups = Set(config.groups)
        secretDirectories = config.secrets.map { $0.count > 1 && $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
    }

    /// Every action and secret of `job` this policy does not allow.
    func violations(_ job: Job, file: String) -> [Diagnostic] {
        let agentUser = UserDatabase.name(of: geteuid())
        let listed = users.sorted().joined(separator: ", ")
        var found: [Diagnostic] = []
        for step in job.allSteps {
            for (place, action) in step.actions {
                let what = "step '\(step.id)'" + (place.isEmpty ? "" : " (its \(place))")
                switch action {
                case .run(let shell):
                    let user: String
                    switch userProblem(shell.user, agentUser: agentUser, what: what) {
                    case .success(let allowed): user = allowed
                    case .failure(let problem):
                        found.append(Diagnostic(file: file, location: shell.user?.location ?? step.location,
                                                message: problem.message, hint: problem.hint))
                        continue
                    }
                    if let group = shell.group, let problem = groupProblem(group, user: user, what: what) {
                        found.append(Diagnostic(file: file, location: group.location, message: problem.message, hint: problem.hint))
                    }
                case .plugin where !users.contains(agentUser):
                    found.append(Diagnostic(file: file, location: step.location,
                                            message: "\(what) runs a plugin atom as \(agentUser), which api.run_as does not allow",
                                            hint: "ask the operator to list \(agentUser) in api.run_as, or use run: with one of \(listed)"))
                case .http(let http):
                    // curl opens these as root: a socket (atomd's own, docker's)
                    // is a root client of that service; a key or CA file is
                    // a root-only file read on the submitter's behalf.
                    let rootOnly = [("unix_socket", http.unixSocket), ("ca_file", http.tls.caFile),
                                    ("client_cert", http.tls.clientCertificate), ("client_key", http.tls.clientKey)]
                    for (field, template) in rootOnly {
                        guard let template else { continue }
                        found.append(Diagnostic(file: file, location: template.location,
                                                message: "\(what) uses \(field), which the agent would open as \(agentUser); jobs limited by api.run_as may not",
                                                hint: "call the API over http(s) without it, or ask root to run this job"))
                    }
                case .plugin, .group: continue
                }
            }
        }
        for (name, source) in job.secrets.sorted(by: { $0.key < $1.key }) {
            let location = job.secretLocations[name] ?? job.location
            switch source {
            case .environment(let variable):
                found.append(Diagnostic(file: file, location: location,
                                        message: "secret '\(name)' reads the agent's environment variable \(variable), which jobs limited by api.run_as may not",
                                        hint: secretHint))
            case .file(let path) where secretDirectory(holding: path) == nil:
                found.append(Diagnostic(file: file, location: location,
                                        message: "secret '\(name)' reads \(path), outside the directories api.run_as.secrets lists",
                                        hint: secretHint))
            case .file: continue
            }
        }
        return found
    }

    private var secretHint: String {
        secretDirectories.isEmpty
            ? "ask the operator for a directory of secrets in api.run_as: { secrets: [DIR] }"
            : "use file: under " + secretDirectories.joined(separator: " or ")
    }

    /// The listed directory `path` lies in, and the path below it; nil when
    /// it lies in none. Paths with `.` or `..` components lie in none.
    func secretDirectory(holding path: String) -> (directory: String, relative: [String])? {
        let components = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard path.hasPrefix("/"), !components.contains(where: { $0 == "." || $0 == ".." }) else { return nil }
        for directory in secretDirectories {
            let base = directory.split(separator: "/").map(String.init)
            guard components.count > base.count, Array(components.prefix(base.count)) == base else { continue }
            return (directory, Array(components.dropFirst(base.count)))
        }
        return nil
    }

    struct Problem: Error {
        var message: String
        var hint: String
    }

    /// The user a `run:` action acts as (its `user:`, else the agent's),
    /// or why this policy does not allow it.
    private func userProblem(_ template: Template?, agentUser: String, what: String) -> Result<String, Problem> {
        let listed = users.sorted().joined(separator: ", ")
        guard let template else {
            return users.contains(agentUser) ? .success(agentUser)
                : .failure(Problem(message: "\(what) would run as \(agentUser), which api.run_as does not allow", hint: "add user: with one of \(listed)"))
        }
        guard let name = template.literalText else {
            return .failure(Problem(message: "\(what) computes its user:, and api.run_as needs to know it before the run",
                                    hint: "write one of \(listed) literally"))
        }
        return users.contains(name) ? .success(name)
            : .failure(Problem(message: "\(what) runs as \(name), which api.run_as does not allow", hint: "use one of \(listed)"))
    }

    /// Why `user` may not run with `group:`; nil when it may.
    private func groupProblem(_ template: Template, user: String, what: String) -> Problem? {
        guard let group = template.literalText else {
            return Problem(message: "\(what) computes its group:, and api.run_as needs to know it before the run", hint: "write the group literally")
        }
        if groups.contains(group) { return nil }
        guard let gid = UserDatabase.group(named: group) else {
            return Problem(message: "\(what) runs with group \(group), which does not exist", hint: "use one of \(user)'s groups (`id \(user)`)")
        }
        if let account = UserDatabase.user(named: user), UserDatabase.groups(of: account)?.contains(gid) == true {
            return nil
        }
        return Problem(message: "\(what) runs as \(user) with group \(group), which is not one of \(user)'s groups and api.run_as does not list",
                       hint: "drop group:, use one of \(user)'s own groups (`id \(user)`), or ask the operator to add it to api.run_as: { groups: [...] }")
    }
}
