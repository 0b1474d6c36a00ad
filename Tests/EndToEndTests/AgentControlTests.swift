import AtomdTestSupport
import Foundation
import Testing

/// The control API and the CLI that talks to it, against a real agent.
@Suite struct AgentControlTests {
    func pausingJob(_ home: String) -> String {
        """
        version: 1
        name: pausing
        on_failure: pause
        steps:
          - { id: say, run: "echo hello from the step" }
          - { id: flaky, uses: test.fail, with: { always: true } }
        """
    }

    func cli(_ arguments: [String], _ agent: AgentProcess) async throws -> AtomdProcess.Result {
        try await AtomdProcess.run(arguments + ["--home", agent.home])
    }

    /// Waits until the agent's only run has `status`; returns its id.
    func waitForRun(status: String, _ agent: AgentProcess) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let listed = try await cli(["runs", "--json"], agent)
            let runs = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
            if let run = runs.first, run["status"] as? String == status { return try #require(run["id"] as? String) }
            try #require(ContinuousClock.now < deadline, "the run never became \(status): \(listed.stdout)")
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test func pauseLetsTheRunningStepFinishAndResumeGoesOn() async throws {
        let agent = try AgentProcess.start()
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let gate = agent.home + "/go"
        try agent.drop("gated.yaml", """
            version: 1
            name: gated
            steps:
              - { id: wait, run: "echo waiting; while [ ! -e \(gate) ]; do sleep 0.02; done" }
              - { id: after, run: "echo after" }
            """)
        let runID = try await waitForRun(status: "running", agent)
        // Pausing only once the first step runs, so that pause has a step to let finish.
        let deadline = ContinuousClock.now + .seconds(30)
        while await !(try cli(["logs", runID, "wait"], agent).stdout.contains("waiting")) {
            try #require(ContinuousClock.now < deadline, "the first step never started")
            try await Task.sleep(for: .milliseconds(20))
        }
        let paused = try await cli(["pause", runID, "--json"], agent)
        #expect(paused.status == 0, "\(paused.stderr)")
        #expect(try JSONSerialization.jsonObject(with: Data(paused.stdout.utf8)) as? [String: String] == ["run_id": runID, "requested": "pause"])
        #expect(FileManager.default.createFile(atPath: gate, contents: nil))
        _ = try await waitForRun(status: "paused", agent)
        let shown = try await cli(["show", runID, "--json"], agent)
        let detail = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        let steps = try #require(detail["steps"] as? [[String: Any]])
        #expect(steps.first { $0["id"] as? String == "wait" }?["status"] as? String == "succeeded", "the running step finished")
        let after = steps.first { $0["id"] as? String == "after" }?["status"] as? String
        #expect(after != "running" && after != "succeeded", "no new step started: \(after ?? "not started")")

        let resumed = try await cli(["resume", runID, "--json"], agent)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try JSONSerialization.jsonObject(with: Data(resumed.stdout.utf8)) as? [String: String] == ["run_id": runID, "requested": "resume"])
        #expect(try await agent.waitForFiled(1).done == ["gated.yaml"])
        await #expect(try cli(["pause", runID], agent).status == 2, "an ended run cannot be paused")
    }

    @Test func theCLISubmitsShowsAndSteersThroughTheAgent() async throws {
        let agent = try AgentProcess.start()
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let job = try AtomdProcess.temporaryJob(pausingJob(agent.home), name: "pausing.yaml")
        let submitted = try await cli(["submit", job], agent)
        #expect(submitted.status == 0, "\(submitted.stderr)")
        #expect(submitted.stdout.contains("as incoming/pausing.yaml"))
        try await agent.waitForLog("pausing.yaml: run ")

        // The run pauses on its failed step.
        let runID = try await waitForRun(status: "paused", agent)
        await #expect(!(try cli(["runs"], agent).stderr.contains("reading the journal")), "read from the agent")
        let shown = try await cli(["show", runID], agent)
        #expect(shown.stdout.contains("waiting for a decision: `atomd retry|skip \(runID) flaky`"))
        let logs = try await cli(["logs", runID, "say"], agent)
        #expect(logs.stdout.contains("hello from the step"))
        let nosuch = try await cli(["logs", runID, "sya"], agent)
        #expect(nosuch.status == 2 && nosuch.stderr.contains("has no step 'sya'; its steps: say, flaky"), "\(nosuch.stderr)")

        let wrong = try await cli(["skip", runID, "say"], agent)
        #expect(wrong.status == 2)
        #expect(wrong.stderr.contains("is not waiting for a decision"))
        let skipped = try await cli(["skip", runID, "flaky", "--json"], agent)
        #expect(skipped.status == 0, "\(skipped.stderr)")
        let answer = try JSONSerialization.jsonObject(with: Data(skipped.stdout.utf8)) as? [String: String]
        #expect(answer == ["run_id": runID, "step": "flaky", "decision": "skip"])
        let filed = try await agent.waitForFiled(1)
        #expect(filed.done == ["pausing.yaml"])

        let invalid = try AtomdProcess.temporaryJob("version: 1\nname: x\n")
        await #expect(try cli(["submit", invalid], agent).status == 2)
        #expect(agent.jobs(in: "incoming").isEmpty && agent.jobs(in: "failed").isEmpty, "an invalid job never reaches the spool")
    }

    @Test func withoutAnAgentSubmitWritesIntoTheSpoolAndTheAgentRunsItWhenItStarts() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-submit-\(UUID().uuidString)").path
        let job = try AtomdProcess.temporaryJob("version: 1\nname: later\nsteps:\n  - { id: a, uses: test.noop }\n", name: "later.yaml")
        let nowhere = try await AtomdProcess.run(["submit", job, "--home", home])
        #expect(nowhere.status == 4)
        #expect(nowhere.stderr.contains("spool/incoming: does not exist"), "\(nowhere.stderr)")
        #expect(!FileManager.default.fileExists(atPath: home), "a wrong --home leaves nothing behind")

        let first = try AgentProcess.start(home: home)
        try await first.waitForLog("ready:")
        #expect(first.stop() == 0)
        let submitted = try await AtomdProcess.run(["submit", job, "--home", home, "--json"])
        #expect(submitted.status == 0, "\(submitted.stderr)")
        #expect(submitted.stderr.contains("no agent socket"))
        let answer = try JSONSerialization.jsonObject(with: Data(submitted.stdout.utf8)) as? [String: String]
        let token = try #require(answer?["submission"])
        #expect(answer == ["file": job, "name": "later.yaml", "via": "spool", "submission": token])

        let agent = try AgentProcess.start(home: home)
        defer { _ = agent.stop() }
        let filed = try await agent.waitForFiled(1)
        #expect(filed.done == ["later.yaml"])
        let found = try AgentControlTests.curl(home + "/atomd.sock", "/runs?submission=" + token)
        let runs = (try JSONSerialization.jsonObject(with: Data(found.utf8)) as? [String: Any])?["runs"] as? [[String: Any]]
        #expect(runs?.map { $0["job_file"] as? String } == [home + "/spool/processing/later.yaml"], "\(found)")
    }

    @Test func metricsParseAsPrometheusTextAndCountWhatRan() async throws {
        let agent = try AgentProcess.start()
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        try agent.drop("ok.yaml", "version: 1\nname: ok\nsteps:\n  - { id: a, uses: test.noop }\n")
        try agent.drop("bad.yaml", "version: 1\nname: bad\nsteps:\n  - { id: a, uses: test.world, with: { flag: a } }\n"
                       + "  - { id: b, uses: test.fail, with: { always: true } }\n")
        _ = try await agent.waitForFiled(2)
        let text = try Self.curl(agent.home + "/atomd.sock", "/metrics")
        var samples: [String: Double] = [:]
        let sample = try Regex(#"^([a-z_]+)(\{[a-z_]+="[^"\\]*"(,[a-z_]+="[^"\\]*")*\})? (-?[0-9.e+]+|\+Inf)$"#)
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") { continue }
            #expect(try sample.wholeMatch(in: String(line)) != nil, "not Prometheus text: \(line)")
            let space = try #require(line.lastIndex(of: " "))
            samples[String(line[..<space])] = Double(line[line.index(after: space)...])
        }
        #expect(samples["atomd_runs_total{status=\"succeeded\"}"] == 1)
        #expect(samples["atomd_runs_total{status=\"reverted\"}"] == 1)
        #expect(samples["atomd_steps_total{atom=\"test.world\",status=\"reverted\"}"] == 1)
        #expect(samples["atomd_compensations_total"] == 1)
        #expect(samples["atomd_queue_wait_seconds_count"] == 2)
        #expect(samples["atomd_step_duration_seconds_count{atom=\"test.noop\"}"] == 1)
        #expect(samples["atomd_spool_depth"] == 0)
        #expect(try Self.curl(agent.home + "/atomd.sock", "/healthz").contains("\"status\":\"ok\""))
    }

    /// The largest job the limits allow (about 19,000 steps, 95,000 YAML
    /// nodes), refused only by its very last line, so validation does all
    /// its work before the agent files it.
    static var maximalJob: String {
        var text = "version: 1\nname: maximal\nsteps:\n"
        for index in 0..<19_000 { text += "  - id: s\(index)\n    run: \"true\"\n" }
        return text + "  - id: s0\n    run: \"true\"\n"
    }

    /// While a maximal job is validated, the control API answers at once, and
    /// SIGTERM stops the agent within its stop timeout: validation runs
    /// off the agent's actor and off the cooperative pool.
    @Test(.timeLimit(.minutes(3))) func aMaximalJobNeverStallsTheAgent() async throws {
        let agent = try AgentProcess.start(config: "agent:\n  stop_timeout: 5s\n")
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let socket = agent.home + "/atomd.sock"
        try agent.drop("maximal.yaml", Self.maximalJob)
        var slowest = 0.0, answers = 0
        while agent.jobs(in: "failed").isEmpty {
            // /metrics is answered by the agent's actor itself.
            let health = try Self.curlTimed(socket, "/healthz"), metrics = try Self.curlTimed(socket, "/metrics")
            #expect(health.body.contains("\"status\":\"ok\""), "\(health.body)")
            #expect(metrics.body.contains("atomd_spool_depth"), "\(metrics.body)")
            slowest = max(slowest, health.seconds, metrics.seconds)
            answers += 1
        }
        #expect(answers >= 3, "validation was too quick to observe (\(answers) answers)")
        #expect(slowest < 1, "the control API took \(slowest) s to answer while the job was validated")
        #expect(try agent.report("maximal.yaml")["message"] as? String != nil)

        // Again, and a SIGTERM in the middle of it.
        try agent.drop("maximal-2.yaml", Self.maximalJob)
        try await agent.waitForLog("maximal-2.yaml")
        let start = ContinuousClock.now
        agent.signal(SIGTERM)
        let status = agent.waitForExit()
        let took = ContinuousClock.now - start
        #expect(status == 0, "the agent exited \(status)")
        #expect(took < .seconds(5), "SIGTERM took \(took) while a job was validated")
    }

    @Test func pluginsAreListedAsAtomdPluginsListsThem() async throws {
        let agent = try AgentProcess.start()
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        try FileManager.default.createDirectory(atPath: agent.home + "/plugins", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        try FileManager.default.copyItem(atPath: AtomdProcess.binary.deletingLastPathComponent().path + "/libkv.so",
                                         toPath: agent.home + "/plugins/kv.so")
        let listed = try Self.curl(agent.home + "/atomd.sock", "/plugins")
        let plugins = try #require(try JSONSerialization.jsonObject(with: Data(listed.utf8)) as? [[String: Any]], "\(listed)")
        #expect(plugins.map { $0["name"] as? String } == ["kv"])
        #expect((plugins.first?["atoms"] as? [[String: Any]])?.map { $0["name"] as? String } == ["set"])
        #expect(plugins.first?["isolation"] as? String == "isolated")
        #expect(plugins.first?["abi"] as? String == "1.0", "the same report as `atomd plugins --json`")
    }

    @Test func theEventStreamReplaysTheJournalThenEndsWithTheRun() async throws {
        let agent = try AgentProcess.start()
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        try agent.drop("one.yaml", "version: 1\nname: one\nsteps:\n  - { id: a, uses: test.noop }\n")
        _ = try await agent.waitForFiled(1)
        let runs = try Self.curl(agent.home + "/atomd.sock", "/runs")
        let list = try #require(try JSONSerialization.jsonObject(with: Data(runs.utf8)) as? [String: Any])
        let runID = try #require(((list["runs"] as? [[String: Any]])?.first)?["id"] as? String)
        let stream = try Self.curl(agent.home + "/atomd.sock", "/runs/\(runID)/events")
        let ids = stream.split(separator: "\n").filter { $0.hasPrefix("id: ") }.compactMap { Int($0.dropFirst(4)) }
        #expect(ids == Array(1...ids.count) && ids.count > 3)
        #expect(stream.contains("event: closed"))
        #expect(stream.contains(#""kind":"step","path":"a","#) && stream.contains(#""status":"succeeded","step":"a""#), "\(stream)")
        let resumed = try Self.curl(agent.home + "/atomd.sock", "/runs/\(runID)/events", headers: ["Last-Event-ID: \(ids.count - 1)"])
        #expect(resumed.split(separator: "\n").filter { $0.hasPrefix("id: ") } == ["id: \(ids.count)"])
    }

    /// The secrets audit of SecretsAuditTests, through the agent: the event
    /// stream, the API's run, logs and list, `failed/NAME.error.json`, the
    /// agent's own log, and every file under its home.
    @Test(.timeLimit(.minutes(2))) func noFormOfASecretLeavesTheAgent() async throws {
        let cloud = try await FakeCloudProcess()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-audit-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let credsFile = try SecretsAuditTests.credentials(in: scratch)
        let agent = try AgentProcess.start(environment: SecretsAuditTests.environment)
        defer { try? FileManager.default.removeItem(atPath: agent.home) }
        try await agent.waitForLog("ready:")
        try agent.drop("audit.yaml", SecretsAuditTests.job(cloud: cloud.base, credsFile: credsFile))
        let filed = try await agent.waitForFiled(1)
        #expect(filed.failed == ["audit.yaml"], "\(agent.log)")
        let socket = agent.home + "/atomd.sock"
        let list = try Self.curl(socket, "/runs")
        let runs = try #require(try JSONSerialization.jsonObject(with: Data(list.utf8)) as? [String: Any])
        let runID = try #require(((runs["runs"] as? [[String: Any]])?.first)?["id"] as? String)
        var shown = [("GET /runs", list)]
        for path in ["/runs/\(runID)", "/runs/\(runID)/events", "/runs/\(runID)/logs", "/runs/\(runID)/logs?step=echo"] {
            shown.append(("GET \(path)", try Self.curl(socket, path)))
        }
        #expect(shown.contains { $0.1.contains("token ***") }, "the audit sees the step's output: \(shown)")
        _ = agent.stop()
        shown.append(("the agent's log", agent.log))
        let servers = try await SecretsAuditTests.maskedServerIDs(cloud, count: 1)
        SecretsAuditTests.expectNoSecret(shown: shown, home: agent.home, maskedOutputs: servers)
    }

    @Test func logsFollowsARunOfTheAgentUntilItEnds() async throws {
        let agent = try AgentProcess.start()
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let gate = agent.home + "/gate"
        try agent.drop("chatty.yaml", """
            version: 1
            name: chatty
            steps:
              - { id: talk, run: "echo before; while [ ! -e \(gate) ]; do sleep 0.01; done; echo after" }
            """)
        try await agent.waitForLog("chatty.yaml: run ")
        let runs = try await #require(try JSONSerialization.jsonObject(with: Data(try cli(["runs", "--json"], agent).stdout.utf8)) as? [[String: Any]])
        let runID = try #require(runs.first?["id"] as? String)
        let follow = try AtomdProcess.start(["logs", runID, "-f", "--home", agent.home])
        try await follow.waitForOutput(containing: "out | before")
        #expect(!follow.stdout.contains("after"))
        FileManager.default.createFile(atPath: gate, contents: nil)
        let result = try await follow.finish()
        #expect(result.status == 0)
        #expect(result.stdout.contains("out | after"), "followed to the end: \(result.stdout)")
        #expect(!result.stderr.contains("reading the journal"))
    }

    /// Another user: with public_read, reading is allowed and steering is
    /// refused (SO_PEERCRED); without it the socket's mode keeps them out.
    @Test func aCallerWithoutRightsIsRefused() async throws {
        let agent = try AgentProcess.start(config: "api: { public_read: true }\n")
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        chmod(agent.home, 0o755)
        let socket = agent.home + "/atomd.sock"
        var info = stat()
        #expect(stat(socket, &info) == 0 && info.st_mode & 0o777 == 0o666)
        let read = try Self.curlAsNobody(socket, "/runs")
        #expect(read.contains("\"runs\""), "\(read)")
        let steer = try Self.curlAsNobody(socket, "/runs/x/cancel", post: true)
        #expect(steer.contains("uid 65534 may not steer this agent"), "\(steer)")
        let submit = try Self.curlAsNobody(socket, "/jobs?name=a.yaml", post: true)
        #expect(submit.contains("may not steer"))
        #expect(agent.jobs(in: "incoming").isEmpty)
        // `atomd resume` says the agent's refusal, not a local fallback's error.
        let resume = try await AtomdProcess.run(["resume", "x", "--home", agent.home], asUser: 65534)
        #expect(resume.status == 2 && resume.stderr.contains("may not steer"), "\(resume.stderr)")

        let closed = try AgentProcess.start(config: "")
        defer { _ = closed.stop() }
        try await closed.waitForLog("ready:")
        chmod(closed.home, 0o755)
        #expect(stat(closed.home + "/atomd.sock", &info) == 0 && info.st_mode & 0o777 == 0o660)
        #expect(try Self.curlAsNobody(closed.home + "/atomd.sock", "/runs").contains("Failed to connect"))
    }

    static func curl(_ socket: String, _ path: String, headers: [String] = [], post: Bool = false, prefix: [String] = [],
                     extra: [String] = []) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = prefix + ["curl", "-sS", "--max-time", "20", "--unix-socket", socket]
            + headers.flatMap { ["-H", $0] } + (post ? ["-X", "POST", "--data", ""] : []) + extra + ["http://atomd" + path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// One request, and how long curl says it took in all.
    static func curlTimed(_ socket: String, _ path: String) throws -> (body: String, seconds: Double) {
        let marker = "\n@@time="
        let output = try curl(socket, path, prefix: [], extra: ["-w", marker + "%{time_total}"])
        guard let range = output.range(of: marker, options: .backwards), let seconds = Double(output[range.upperBound...]) else {
            return (output, .infinity)
        }
        return (String(output[..<range.lowerBound]), seconds)
    }

    static func curlAsNobody(_ socket: String, _ path: String, post: Bool = false) throws -> String {
        try curl(socket, path, post: post, prefix: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
    }
}
