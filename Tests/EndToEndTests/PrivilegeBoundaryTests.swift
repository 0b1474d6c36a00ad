import AtomdTestSupport
import Foundation
import Glibc
import Testing

/// Issue 30: a submitter gets exactly what `api.run_as` allows, through
/// the real agent, with real accounts (`useradd`): a *submitter* and a
/// second one in `api.group`, an *admin* in `api.admins`, an *outsider*,
/// and *deploy*, the one user jobs may act as. Each test is the attack as
/// the issue reproduced it, and the legitimate use beside it.
@Suite(.serialized) struct PrivilegeBoundaryTests {
    /// A world-writable, sticky directory the steps (as deploy) and the
    /// test write their evidence into.
    static func scratch() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-boundary-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        chmod(directory, 0o1777)
        return directory
    }

    /// An agent whose socket the test accounts can reach, limited as the
    /// issue's attacker found it, plus `secrets` and `admins`.
    static func startAgent(extra: String = "", secrets: [String] = []) async throws -> AgentProcess {
        let deploy = try TestUsers.deploy, admin = try TestUsers.admin
        _ = (try TestUsers.submitter, try TestUsers.otherSubmitter, try TestUsers.outsider)
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-agent-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: home + "/secrets", withIntermediateDirectories: true)
        chmod(home, 0o755)
        let config = """
            api:
              group: \(TestUsers.apiGroup)
              run_as: { users: [\(deploy.name)], groups: [\(TestUsers.foreignGroup)], secrets: [\(([home + "/secrets"] + secrets).joined(separator: ", "))] }
              admins: [\(admin.name)]
            \(extra)
            """
        let agent = try AgentProcess.start(home: home, config: config)
        try await agent.waitForLog("ready:")
        return agent
    }

    /// curl on the agent's socket as `account`; the body and the HTTP status.
    static func call(_ agent: AgentProcess, _ path: String, as account: TestUsers.Account?, body: String? = nil,
                     post: Bool = false) throws -> (status: Int, body: String) {
        var extra = ["-w", "\n%{http_code}"]
        if let body {
            let file = try AtomdProcess.temporaryJob(body)
            extra += ["--data-binary", "@" + file]
        }
        let answer = try AgentControlTests.curl(agent.home + "/atomd.sock", path, post: post && body == nil,
                                                prefix: account?.setpriv ?? [], extra: extra)
        let parts = answer.split(separator: "\n", omittingEmptySubsequences: false)
        // JSON may escape '/' as '\/'; the messages are compared as a person reads them.
        return (Int(parts.last ?? "") ?? 0, parts.dropLast().joined(separator: "\n").replacingOccurrences(of: "\\/", with: "/"))
    }

    static func submit(_ agent: AgentProcess, _ name: String, _ yaml: String, as account: TestUsers.Account?) throws -> (status: Int, body: String) {
        try call(agent, "/jobs?name=" + name, as: account, body: yaml)
    }

    /// The run of a submission, once the agent has journaled it.
    static func run(of name: String, _ agent: AgentProcess, status: String? = nil) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            let listed = try await AtomdProcess.run(["runs", "--json", "--home", agent.home])
            let runs = (try? JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]]) ?? []
            if let run = runs.first(where: { ($0["job_file"] as? String)?.hasSuffix("/" + name) == true }),
               status == nil || run["status"] as? String == status {
                return run
            }
            try #require(ContinuousClock.now < deadline, "no run of \(name)\(status.map { " with status \($0)" } ?? ""): \(listed.stdout)\n\(agent.log)")
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    // MARK: item 1

    /// The issue's attack: a step as deploy builds a library, the next sets
    /// `LD_PRELOAD` to it. The library ran as uid 0 in the root helpers;
    /// now it runs only in the step's own processes, as deploy.
    @Test(.timeLimit(.minutes(3))) func ldPreloadFromAJobNeverRunsAsRoot() async throws {
        let agent = try await Self.startAgent()
        defer { _ = agent.stop() }
        let deploy = try TestUsers.deploy, directory = try Self.scratch()
        try """
            #include <stdio.h>
            #include <unistd.h>
            __attribute__((constructor)) static void spy(void) {
                FILE *f = fopen("\(directory)/loaded", "a");
                if (f) { fprintf(f, "uid=%d\\n", (int)getuid()); fclose(f); }
            }
            """.write(toFile: directory + "/spy.c", atomically: true, encoding: .utf8)
        let job = """
            version: 1
            name: preload
            steps:
              - id: build
                run: { user: \(deploy.name), script: "cc -shared -fPIC -o \(directory)/spy.so \(directory)/spy.c" }
              - id: use
                run: { user: \(deploy.name), script: "id -u > \(directory)/ran", env: { LD_PRELOAD: \(directory)/spy.so } }
            """
        let answer = try Self.submit(agent, "preload.yaml", job, as: try TestUsers.submitter)
        #expect(answer.status == 202, "\(answer.body)")
        _ = try await Self.run(of: "preload.yaml", agent, status: "succeeded")
        let loaded = try String(contentsOfFile: directory + "/loaded", encoding: .utf8).split(separator: "\n")
        #expect(!loaded.contains("uid=0"), "the job's LD_PRELOAD ran as root: \(loaded)")
        #expect(loaded.contains("uid=\(deploy.uid)"), "the step's own environment must still apply: \(loaded)")
        #expect(try String(contentsOfFile: directory + "/ran", encoding: .utf8) == "\(deploy.uid)\n")
    }

    // MARK: item 2

    @Test(.timeLimit(.minutes(2))) func groupsAreGovernedByRunAs() async throws {
        let agent = try await Self.startAgent()
        defer { _ = agent.stop() }
        let deploy = try TestUsers.deploy, submitter = try TestUsers.submitter, directory = try Self.scratch()
        func job(_ group: String) -> String {
            "version: 1\nname: g\nsteps:\n  - { id: a, run: { user: \(deploy.name), group: \(group), script: \"id -gn >> \(directory)/groups\" } }\n"
        }
        for group in ["shadow", "disk", "root", TestUsers.apiGroup] {
            let refused = try Self.submit(agent, "\(group).yaml", job(group), as: submitter)
            #expect(refused.status == 403 && refused.body.contains("runs as \(deploy.name) with group \(group), which is not one of \(deploy.name)'s groups"),
                    "\(group): \(refused)")
        }
        let computed = "version: 1\nname: g\nvars: { g: shadow }\nsteps:\n  - { id: a, run: { user: \(deploy.name), group: \"${{ vars.g }}\", script: id } }\n"
        #expect(try Self.submit(agent, "computed.yaml", computed, as: submitter).body.contains("computes its group:"))
        // Deploy's own supplementary group, and the one api.run_as lists.
        for group in [TestUsers.deployExtraGroup, TestUsers.foreignGroup] {
            #expect(try Self.submit(agent, "\(group).yaml", job(group), as: submitter).status == 202)
            _ = try await Self.run(of: "\(group).yaml", agent, status: "succeeded")
        }
        let ran = try String(contentsOfFile: directory + "/groups", encoding: .utf8)
        #expect(ran == "\(TestUsers.deployExtraGroup)\n\(TestUsers.foreignGroup)\n", "\(ran)")
        #expect(agent.jobs(in: "incoming").isEmpty && agent.jobs(in: "failed").isEmpty)
    }

    // MARK: item 3

    @Test(.timeLimit(.minutes(2))) func secretsComeOnlyFromListedDirectoriesNeverAsRoot() async throws {
        // A listed directory that does not exist yet, in world-writable /tmp.
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-secrets-\(UUID().uuidString)").path
        let agent = try await Self.startAgent(secrets: [missing])
        defer { _ = agent.stop() }
        let deploy = try TestUsers.deploy, submitter = try TestUsers.submitter, directory = try Self.scratch()
        let shadow = try String(contentsOfFile: "/etc/shadow", encoding: .utf8)
        func job(_ source: String) -> String {
            """
            version: 1
            name: s
            secrets: { token: \(source) }
            steps:
              - { id: a, run: { user: \(deploy.name), script: "printf %s \\"$T\\" > \(directory)/seen", env: { T: "${{ secrets.token }}" } } }
            """
        }
        let refusals = [("{ file: /etc/shadow }", "reads /etc/shadow, outside the directories api.run_as.secrets lists"),
                        ("{ file: \"\(agent.home)/secrets/../../../etc/shadow\" }", "outside the directories"),
                        ("{ env: HOME }", "reads the agent's environment variable HOME")]
        for (index, (source, says)) in refusals.enumerated() {
            let refused = try Self.submit(agent, "r\(index).yaml", job(source), as: submitter)
            #expect(refused.status == 403 && refused.body.contains(says), "\(source): \(refused)")
        }
        // A link planted in a directory of the submitter's inside the listed one.
        let team = agent.home + "/secrets/team"
        try FileManager.default.createDirectory(atPath: team, withIntermediateDirectories: true)
        chown(team, submitter.uid, submitter.gid)
        #expect(symlink("/etc/shadow", team + "/key") == 0)
        #expect(try Self.submit(agent, "link.yaml", job("{ file: \(team)/key }"), as: submitter).status == 202)
        // The outsider makes the missing listed directory a link to /etc.
        let planted = try await AtomdProcess.shell("ln -s /etc \(missing)", as: try TestUsers.outsider)
        #expect(planted == 0)
        defer { unlink(missing) }
        #expect(try Self.submit(agent, "planted.yaml", job("{ file: \(missing)/shadow }"), as: submitter).status == 202)
        // The legitimate use: a root-owned 0600 file in the listed directory.
        try "s3cr3t-v4lue\n".write(toFile: agent.home + "/secrets/token", atomically: true, encoding: .utf8)
        chmod(agent.home + "/secrets/token", 0o600)
        #expect(try Self.submit(agent, "good.yaml", job("{ file: \(agent.home)/secrets/token }"), as: submitter).status == 202)
        let filed = try await agent.waitForFiled(3)
        #expect(filed.done == ["good.yaml"] && filed.failed == ["link.yaml", "planted.yaml"], "\(filed)")
        let plantedReport = try agent.report("planted.yaml")
        #expect((plantedReport["message"] as? String)?.contains("api.run_as.secrets: \(missing): is a symlink owned by") == true,
                "\(plantedReport)")
        let report = try agent.report("link.yaml")
        #expect((report["message"] as? String)?.contains("owned by uid \(submitter.uid) or writable by others") == true, "\(report)")
        #expect(try String(contentsOfFile: directory + "/seen", encoding: .utf8) == "s3cr3t-v4lue")
        let firstHash = try #require(shadow.split(separator: "\n").first { $0.hasPrefix("root:") }).split(separator: ":")[1]
        for name in ["link.yaml", "planted.yaml"] {
            let reportText = try String(contentsOfFile: agent.spool + "/failed/\(name).error.json", encoding: .utf8)
            #expect(!reportText.contains(firstHash))
        }
        #expect(!agent.log.contains(firstHash) && !FileManager.default.fileExists(atPath: directory + "/seen-shadow"))
    }

    /// An http step runs in the agent, as root: through `unix_socket:` it
    /// was a root client of atomd's own socket (a job of root's, unlimited),
    /// and its TLS files were opened as root.
    @Test(.timeLimit(.minutes(2))) func anHTTPStepCannotActAsRootThroughASocketOrFiles() async throws {
        let agent = try await Self.startAgent()
        defer { _ = agent.stop() }
        let submitter = try TestUsers.submitter, directory = try Self.scratch()
        let inner = "version: 1\\nname: inner\\nsteps:\\n  - { id: a, run: \\\"id -u > \(directory)/inner\\\" }\\n"
        let viaSocket = """
            version: 1
            name: relay
            steps:
              - id: relay
                http: { method: POST, url: "http://atomd/jobs?name=inner.yaml", unix_socket: \(agent.home)/atomd.sock, body: "\(inner)", expect: [202] }
            """
        let refused = try Self.submit(agent, "relay.yaml", viaSocket, as: submitter)
        #expect(refused.status == 403 && refused.body.contains("uses unix_socket, which the agent would open as root"), "\(refused)")
        for field in ["ca_file", "client_cert", "client_key"] {
            let job = "version: 1\nname: t\nsteps:\n  - { id: a, http: { method: GET, url: \"https://127.0.0.1:9/\", \(field): /etc/shadow } }\n"
            let answer = try Self.submit(agent, "\(field).yaml", job, as: submitter)
            #expect(answer.status == 403 && answer.body.contains("uses \(field), which the agent would open as root"), "\(field): \(answer)")
        }
        #expect(agent.jobs(in: "incoming").isEmpty && !FileManager.default.fileExists(atPath: directory + "/inner"))
    }

    // MARK: items 4 and 9

    /// `atomd rollback --retry` ran root's failed revert as uid 0 for a
    /// submitter. Now a run is steered by its submitter and the admins
    /// only, and what restarts work is admitted under the caller's limits.
    @Test(.timeLimit(.minutes(3))) func aRootRunsFailedRevertIsRetriedByRootOnly() async throws {
        let agent = try await Self.startAgent()
        defer { _ = agent.stop() }
        let directory = try Self.scratch()
        let job = try AtomdProcess.temporaryJob("""
            version: 1
            name: rooted
            steps:
              - id: make
                run: "true"
                revert: "id -u >> \(directory)/reverts; test -e \(directory)/fixed"
              - { id: boom, run: "exit 1" }
            """)
        // Root's run, in the agent (the home is the agent's: `atomd run` may not use it).
        let ran = try await AtomdProcess.run(["submit", job, "--home", agent.home])
        #expect(ran.status == 0, "\(ran.stderr)")
        let runID = try #require(try await Self.run(of: "job.yaml", agent, status: "revert_failed")["id"] as? String)
        for (account, says) in [(try TestUsers.submitter, "may steer only the runs they submitted, and this run was submitted by root"),
                                (try TestUsers.admin, "does what api.run_as does not allow \(try TestUsers.admin.name)")] {
            let refused = try Self.call(agent, "/runs/\(runID)/rollback/retry", as: account, post: true)
            #expect(refused.status == 403 && refused.body.contains(says), "\(account): \(refused)")
            let cli = try await AtomdProcess.run(["rollback", runID, "--retry", "--home", agent.home], account: account)
            #expect(cli.status != 0 && cli.stderr.contains(says), "\(account): \(cli)")
        }
        #expect(try String(contentsOfFile: directory + "/reverts", encoding: .utf8) == "0\n", "the revert ran again")
        FileManager.default.createFile(atPath: directory + "/fixed", contents: nil)
        #expect(try Self.call(agent, "/runs/\(runID)/rollback/retry", as: nil, post: true).status == 202)
        _ = try await Self.run(of: "job.yaml", agent, status: "reverted")
        #expect(try String(contentsOfFile: directory + "/reverts", encoding: .utf8) == "0\n0\n")
    }

    @Test(.timeLimit(.minutes(3))) func aRunIsSteeredByItsSubmitterAndTheAdminsOnly() async throws {
        let agent = try await Self.startAgent(extra: "  listen: 127.0.0.1:0")
        defer { _ = agent.stop() }
        let deploy = try TestUsers.deploy, owner = try TestUsers.submitter, other = try TestUsers.otherSubmitter
        let admin = try TestUsers.admin, directory = try Self.scratch()
        let job = """
            version: 1
            name: steered
            on_failure: pause
            steps:
              - { id: flaky, run: { user: \(deploy.name), script: "echo try >> \(directory)/tries; test -e \(directory)/fixed" } }
            """
        #expect(try Self.submit(agent, "steered.yaml", job, as: owner).status == 202)
        let runID = try #require(try await Self.run(of: "steered.yaml", agent, status: "paused")["id"] as? String)
        let says = "\(other.name) may steer only the runs they submitted, and this run was submitted by \(owner.name)"
        for path in ["/runs/\(runID)/steps/flaky/retry", "/runs/\(runID)/steps/flaky/skip", "/runs/\(runID)/cancel",
                     "/runs/\(runID)/pause", "/runs/\(runID)/revert"] {
            let refused = try Self.call(agent, path, as: other, post: true)
            #expect(refused.status == 403 && refused.body.contains(says), "\(path): \(refused)")
        }
        let vars = try Self.call(agent, "/runs/\(runID)/vars", as: other, body: "{\"x\": 1}")
        #expect(vars.status == 403 && vars.body.contains(says), "\(vars)")
        let cli = try await AtomdProcess.run(["skip", runID, "flaky", "--home", agent.home], account: other)
        #expect(cli.status != 0 && cli.stderr.contains(says), "\(cli)")
        // The console says the same to the other submitter's browser session.
        let (base, session) = try await ConsoleSecurityTests.signIn(agent, account: other)
        let console = try ConsoleSecurityTests.request(base + "/api/runs/\(runID)/cancel", method: "POST",
                                                       headers: [ConsoleSecurityTests.bearer(session)])
        #expect(console.status == 403 && console.body.contains(says), "\(console.body)")
        // Reading stays open to every member of api.group.
        #expect(try Self.call(agent, "/runs/\(runID)", as: other).status == 200)
        #expect(try String(contentsOfFile: directory + "/tries", encoding: .utf8) == "try\n", "a refused request ran the step")
        // An admin steers it; then its submitter.
        #expect(try Self.call(agent, "/runs/\(runID)/steps/flaky/retry", as: admin, post: true).status == 202)
        let deadline = ContinuousClock.now + .seconds(30)
        while (try? String(contentsOfFile: directory + "/tries", encoding: .utf8)) != "try\ntry\n" {
            try #require(ContinuousClock.now < deadline, "the admin's retry did not run")
            try await Task.sleep(for: .milliseconds(20))
        }
        _ = try await Self.run(of: "steered.yaml", agent, status: "paused")
        FileManager.default.createFile(atPath: directory + "/fixed", contents: nil)
        #expect(try Self.call(agent, "/runs/\(runID)/steps/flaky/retry", as: owner, post: true).status == 202)
        _ = try await Self.run(of: "steered.yaml", agent, status: "succeeded")
    }

    /// A console session kept the rights of its login for 12 hours; now
    /// each request is checked against the policy in force.
    @Test(.timeLimit(.minutes(2))) func aConsoleSessionLosesWhatItsUserLoses() async throws {
        let agent = try await Self.startAgent(extra: "  listen: 127.0.0.1:0")
        defer { _ = agent.stop() }
        let (base, session) = try await ConsoleSecurityTests.signIn(agent, account: try TestUsers.otherSubmitter)
        #expect(try ConsoleSecurityTests.request(base + "/api/runs", headers: [ConsoleSecurityTests.bearer(session)]).status == 200)
        let config = try String(contentsOfFile: agent.home + "/atomd.yaml", encoding: .utf8)
        try config.replacingOccurrences(of: "group: \(TestUsers.apiGroup)", with: "group: \(TestUsers.foreignGroup)")
            .write(toFile: agent.home + "/atomd.yaml", atomically: true, encoding: .utf8)
        agent.signal(SIGHUP)
        try await agent.waitForLog("reloaded the configuration")
        let refused = try ConsoleSecurityTests.request(base + "/api/runs", headers: [ConsoleSecurityTests.bearer(session)])
        #expect(refused.status == 403 && refused.body.contains("may no longer read from this agent"), "\(refused.body)")
    }

    // MARK: item 5

    @Test(.timeLimit(.minutes(2))) func aSidecarPlantedByAnotherUserIsRefusedWithItsJob() async throws {
        let agent = try await Self.startAgent()
        defer { _ = agent.stop() }
        let submitter = try TestUsers.submitter, directory = try Self.scratch()
        // incoming/ as scripts/install makes it: writable by the API group.
        let incoming = agent.spool + "/incoming"
        chown(incoming, 0, try TestUsers.gid(TestUsers.apiGroup))
        chmod(incoming, 0o1770)
        let planted = Process()
        planted.executableURL = URL(fileURLWithPath: "/bin/sh")
        planted.arguments = ["-c", submitter.setpriv.joined(separator: " ")
            + " sh -c 'printf %s \\\"$0\\\" > \(incoming)/.nightly.yaml.submit.json'"
            + " '{\"vars\":{\"what\":\"planted\"},\"token\":\"evil-token\",\"on_failure\":\"pause\"}'"]
        try planted.run()
        planted.waitUntilExit()
        var info = stat()
        try #require(lstat(incoming + "/.nightly.yaml.submit.json", &info) == 0 && info.st_uid == submitter.uid,
                     "the submitter could not plant the sidecar")
        let job = "version: 1\nname: nightly\nvars: { what: root }\nsteps:\n  - { id: a, run: \"echo ${{ vars.what }} > \(directory)/what\" }\n"
        try agent.drop("nightly.yaml", job)
        // Root's own sidecar beside another job is the legitimate use.
        try "{\"vars\":{\"what\":\"from-root\"},\"token\":\"root-token\"}".write(toFile: incoming + "/.legit.yaml.submit.json", atomically: false, encoding: .utf8)
        try agent.drop("legit.yaml", job.replacingOccurrences(of: "/what", with: "/legit"))
        let filed = try await agent.waitForFiled(2)
        #expect(filed.failed == ["nightly.yaml"] && filed.done == ["legit.yaml"], "\(filed)")
        let report = try agent.report("nightly.yaml")
        #expect((report["message"] as? String)?.contains("is owned by uid \(submitter.uid), not by uid 0, who owns the job beside it") == true,
                "\(report)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/what"), "the job ran with the planted sidecar")
        #expect(try String(contentsOfFile: directory + "/legit", encoding: .utf8) == "from-root\n")
        #expect(!(try Self.call(agent, "/runs?submission=evil-token", as: nil).body.contains("\"id\"")))
    }

    // MARK: the README's table

    /// The README's "Who can do what" table, row by row: the rows about
    /// callers of the API are tried here against one agent (two, for
    /// `public_read`); every other row names the test that checks it,
    /// which must exist.
    @Test(.timeLimit(.minutes(3))) func everyRoleGetsWhatTheTableSays() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let table = try #require(readme.components(separatedBy: "**Who can do what.**").dropFirst().first?
            .components(separatedBy: "**What each check protects against.**").first)
        let rows = table.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| who ") }.map { line in
            line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        }
        try #require(rows.count >= 8, "the table was not found: \(table)")
        let sources = try FileManager.default.subpathsOfDirectory(atPath: root.path + "/Tests").filter { $0.hasSuffix(".swift") }
            .map { try String(contentsOfFile: root.path + "/Tests/" + $0, encoding: .utf8) }.joined()
        let agent = try await Self.startAgent()
        defer { _ = agent.stop() }
        let open = try await Self.startAgent(extra: "  public_read: true")
        defer { _ = open.stop() }
        let directory = try Self.scratch()
        let deploy = try TestUsers.deploy, submitter = try TestUsers.submitter, admin = try TestUsers.admin
        let outsider = try TestUsers.outsider
        let asRoot = "version: 1\nname: t\nsteps:\n  - { id: a, run: \"id -u >> \(directory)/ran\" }\n"
        let asDeploy = """
            version: 1
            name: t
            on_failure: pause
            steps:
              - { id: a, run: { user: \(deploy.name), script: "test -e \(directory)/go" } }
            """
        let checks: [String: () async throws -> Void] = [
            "root, the agent's user": {
                #expect(try Self.submit(agent, "root.yaml", asRoot, as: nil).status == 202)
                _ = try await Self.run(of: "root.yaml", agent, status: "succeeded")
            },
            "`api.admins`": {
                let refused = try Self.submit(agent, "admin.yaml", asRoot, as: admin)
                #expect(refused.status == 403 && refused.body.contains("would run as root, which api.run_as does not allow"), "\(refused)")
                #expect(try Self.submit(agent, "mine.yaml", asDeploy, as: submitter).status == 202)
                let runID = try #require(try await Self.run(of: "mine.yaml", agent, status: "paused")["id"] as? String)
                #expect(try Self.call(agent, "/runs/\(runID)/steps/a/skip", as: admin, post: true).status == 202)
                _ = try await Self.run(of: "mine.yaml", agent, status: "succeeded")
            },
            "members of `api.group`": {
                let refused = try Self.submit(agent, "asroot.yaml", asRoot, as: submitter)
                #expect(refused.status == 403 && refused.body.contains("would run as root"), "\(refused)")
                #expect(try Self.call(agent, "/runs", as: submitter).status == 200)
                let rootRun = try #require(try await Self.run(of: "root.yaml", agent)["id"] as? String)
                let steer = try Self.call(agent, "/runs/\(rootRun)/rollback/retry", as: submitter, post: true)
                #expect(steer.status == 403 && steer.body.contains("may steer only the runs they submitted"), "\(steer)")
            },
            "anyone, with `api.public_read`": {
                #expect(try Self.call(open, "/runs", as: outsider).status == 200)
                let submitted = try Self.submit(open, "x.yaml", asDeploy, as: outsider)
                #expect(submitted.status == 403 && submitted.body.contains("may not steer this agent"), "\(submitted)")
            },
            "anyone else": {
                #expect(try Self.call(agent, "/runs", as: outsider).body.contains("Failed to connect"))
                let journal = try await AtomdProcess.run(["runs", "--home", agent.home], account: outsider)
                #expect(journal.status != 0 && !journal.stdout.contains("root.yaml"), "\(journal)")
            },
        ]
        for row in rows {
            let who = row[1], checkedBy = row.last(where: { !$0.isEmpty }) ?? ""
            let name = checkedBy.trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            #expect(sources.contains("func \(name)("), "row '\(who)' names \(checkedBy), which no test defines")
            if name == "everyRoleGetsWhatTheTableSays" {
                let check = try #require(checks[who], "row '\(who)' says this test checks it, and it has no check here")
                try await check()
            }
        }
        #expect(try String(contentsOfFile: directory + "/ran", encoding: .utf8) == "0\n", "only root's job ran as root")
    }
}
