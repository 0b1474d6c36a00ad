import Foundation
import Testing

/// Issue 30, item 8: retention deleted whatever in `agent.logs` was older
/// than `retention.logs` and unknown to the journal, so `agent.logs:
/// /var/log` emptied /var/log. Now the agent refuses a logs directory that
/// holds anything but run directories, and prunes only run directories
/// holding what atomd writes, without following a link.
@Suite(.timeLimit(.minutes(3))) struct AgentRetentionSafetyTests {
    /// A run id the journal does not know, as `RunID.make` spells them.
    static let unknownRun = "20200101-000000-00dead"

    /// A fresh directory (mode 0700) in the temporary directory.
    static func directory(_ label: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-\(label)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        return path
    }

    static func write(_ text: String, _ path: String, mode: Int = 0o600) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, mode_t(mode))
    }

    /// Forty days old, as retention sees it (the entry itself, not what it points at).
    static func age(_ path: String) {
        var times = [timespec(tv_sec: time(nil) - 40 * 86_400, tv_nsec: 0), timespec(tv_sec: time(nil) - 40 * 86_400, tv_nsec: 0)]
        _ = utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW)
    }

    /// Everything under `path` (not following links): relative path, kind, owner, mode and contents.
    static func snapshot(_ path: String) -> [String] {
        var lines: [String] = []
        for name in ([""] + (FileManager.default.subpaths(atPath: path) ?? [])).sorted() {
            let full = name.isEmpty ? path : path + "/" + name
            var info = stat()
            guard lstat(full, &info) == 0 else { lines.append("\(name) missing"); continue }
            let contents = info.st_mode & S_IFMT == S_IFREG ? (try? String(contentsOfFile: full, encoding: .utf8)) ?? "?" : ""
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: full)).map { " -> " + $0 } ?? ""
            lines.append("\(name) \(String(info.st_mode, radix: 8)) \(info.st_uid) \(info.st_mtim.tv_sec)\(target) \(contents)")
        }
        return lines
    }

    /// The exit status of an agent that refused to start; nil (and the
    /// agent stopped) when it started instead and ran its first retention pass.
    static func refusal(_ agent: AgentProcess) async throws -> Int32? {
        let deadline = ContinuousClock.now + .seconds(60)
        while agent.running.process.isRunning {
            if agent.log.contains("retention (") {
                _ = agent.stop()
                return nil
            }
            try #require(ContinuousClock.now < deadline, "neither a refusal nor a retention pass within 60s:\n\(agent.log)")
            try await Task.sleep(for: .milliseconds(20))
        }
        return agent.waitForExit()
    }

    /// (a) A logs directory that holds anything but run directories (here
    /// what /var/log holds, long unwritten) is refused at start, naming the
    /// entry, and nothing in it is touched.
    @Test func aLogsDirectoryHoldingForeignEntriesIsRefusedAndLeftAlone() async throws {
        let logs = try Self.directory("varlog")
        try Self.write("Nov 22 kernel: booted\n", logs + "/syslog", mode: 0o640)
        try Self.write("GET / 200\n", logs + "/nginx/access.log", mode: 0o640)
        // A run's directory beside them does not make them atomd's.
        try Self.write("out | hi\n", logs + "/" + Self.unknownRun + "/a.1.log")
        for entry in ["syslog", "nginx/access.log", "nginx", Self.unknownRun + "/a.1.log", Self.unknownRun] { Self.age(logs + "/" + entry) }
        let before = Self.snapshot(logs)

        let agent = try AgentProcess.start(config: "agent:\n  logs: \(logs)\n")
        let status = try await Self.refusal(agent)
        #expect(status == 4, "the agent started with agent.logs holding /var/log's kind of files:\n\(agent.log)")
        #expect(agent.log.contains("\(logs)/nginx") && agent.log.contains("not a run's log directory"), "\(agent.log)")
        #expect(agent.log.contains("agent.logs"), "the fix names the setting: \(agent.log)")
        #expect(Self.snapshot(logs) == before, "the logs directory was changed")
    }

    /// (a) A run id that is not a directory (a link to another directory
    /// here) is not a run's log directory either: refused, the link and
    /// what it points at untouched.
    @Test func aRunIDThatIsALinkIsRefusedAndLeftAlone() async throws {
        let victim = try Self.directory("victim")
        try Self.write("root:x:0:0\n", victim + "/passwd")
        let home = try Self.directory("home")
        try FileManager.default.createDirectory(atPath: home + "/logs", withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        #expect(symlink(victim, home + "/logs/" + Self.unknownRun) == 0)
        Self.age(home + "/logs/" + Self.unknownRun)
        let (before, victimBefore) = (Self.snapshot(home + "/logs"), Self.snapshot(victim))

        let agent = try AgentProcess.start(home: home)
        let status = try await Self.refusal(agent)
        #expect(status == 4, "the agent started:\n\(agent.log)")
        #expect(agent.log.contains("\(home)/logs/\(Self.unknownRun)") && agent.log.contains("not a run's log directory"), "\(agent.log)")
        #expect(Self.snapshot(home + "/logs") == before)
        #expect(Self.snapshot(victim) == victimBefore)
    }

    /// (b) An old run directory the journal does not know, holding links
    /// where step logs and a group's directory would be, to a root-owned
    /// file and directory elsewhere: pruned, the links removed, never followed.
    @Test func anOldRunDirectoryIsPrunedWithoutFollowingItsLinks() async throws {
        let victim = try Self.directory("victim")
        try Self.write("root:$6$secret:19000:0:99999:7:::\n", victim + "/shadow", mode: 0o600)
        try Self.write("keep me\n", victim + "/deeper/file", mode: 0o600)
        Self.age(victim + "/shadow")
        let victimBefore = Self.snapshot(victim)
        let home = try Self.directory("home")
        let run = home + "/logs/" + Self.unknownRun
        try FileManager.default.createDirectory(atPath: run + "/zones", withIntermediateDirectories: true)
        try Self.write("out | real\n", run + "/build.1.log")
        #expect(symlink(victim + "/shadow", run + "/deploy.1.log") == 0)
        #expect(symlink(victim + "/shadow", run + "/deploy.1.revert.log") == 0)
        #expect(symlink(victim, run + "/zones/disks") == 0)
        #expect(symlink(victim, run + "/group") == 0)
        for entry in ["zones/disks", "zones", "deploy.1.log", "deploy.1.revert.log", "group", "build.1.log", ""] { Self.age(run + "/" + entry) }

        let agent = try AgentProcess.start(home: home)
        defer { _ = agent.stop() }
        try await agent.waitForLog("retention (runs 30d, logs 7d, done 30d): pruned 0 runs, 1 log directories, 0 done jobs")
        var info = stat()
        #expect(lstat(run, &info) != 0, "the run's directory is still there: \(Self.snapshot(run))")
        #expect(Self.snapshot(victim) == victimBefore, "what the links pointed at was changed")
    }

    /// A run's directory holding what atomd never writes there (a file not
    /// named like a step log, a FIFO) is kept whole, and the pass says why.
    @Test func anOldRunDirectoryHoldingWhatAtomdNeverWritesIsKept() async throws {
        let home = try Self.directory("home")
        let run = home + "/logs/" + Self.unknownRun
        try Self.write("out | real\n", run + "/build.1.log")
        try Self.write("do not lose\n", run + "/notes.txt")
        try FileManager.default.createDirectory(atPath: run + "/g", withIntermediateDirectories: true)
        #expect(mkfifo(run + "/g/pipe.1.log", 0o600) == 0)
        for entry in ["g/pipe.1.log", "g", "build.1.log", "notes.txt", ""] { Self.age(run + "/" + entry) }
        let before = Self.snapshot(run)

        let agent = try AgentProcess.start(home: home)
        defer { _ = agent.stop() }
        try await agent.waitForLog("retention (")
        #expect(agent.log.contains("retention (runs 30d, logs 7d, done 30d): pruned 0 runs, 0 log directories, 0 done jobs"), "\(agent.log)")
        #expect(agent.log.contains("\(run)") && agent.log.contains("notes.txt"), "\(agent.log)")
        #expect(Self.snapshot(run) == before, "the run's directory was changed")
    }

    /// (c) What atomd writes still goes: the logs of a run closed ten days
    /// ago (still in the journal) with a group's directory, and an old
    /// unknown run's step logs of every kind (probes, reverts, the halves of
    /// a capped log); a recent unknown run's directory stays.
    @Test func oldRunLogDirectoriesArePrunedWithEverythingAtomdWroteInThem() async throws {
        let first = try AgentProcess.start()
        try await first.waitForLog("ready:")
        try first.drop("grouped.yaml", """
            version: 1
            name: grouped
            steps:
              - id: zones
                group:
                  steps:
                    - { id: disk, run: "echo disk" }
              - { id: last, run: "echo last" }
            """)
        #expect(try await first.waitForFiled(1).done == ["grouped.yaml"])
        #expect(first.stop() == 0)
        let home = first.home
        let closed = try #require(try FileManager.default.contentsOfDirectory(atPath: home + "/logs").first)
        #expect(FileManager.default.fileExists(atPath: home + "/logs/\(closed)/zones/disk.1.log"), "\(Self.snapshot(home + "/logs"))")
        #expect(JournalSQL.execute(home + "/journal.sqlite", "UPDATE runs SET closed_at = closed_at - \(10 * 86_400) WHERE id = '\(closed)'"))
        let unknown = home + "/logs/" + Self.unknownRun
        for file in ["a.1.log", "a.2.log", "a.2.check.log", "a.2.state.log", "a.1.revert.log", "big.1.log.1", "big.1.log.merged",
                     "g/h/b.3.revert.log", "g/c.1.log"] {
            try Self.write("out | x\n", unknown + "/" + file)
        }
        for entry in ["g/h", "g", ""] { Self.age(unknown + "/" + entry) }
        let recent = "20200101-000000-00beef"
        try Self.write("out | x\n", home + "/logs/" + recent + "/a.1.log")

        let agent = try AgentProcess.start(home: home)
        defer { _ = agent.stop() }
        try await agent.waitForLog("retention (runs 30d, logs 7d, done 30d): pruned 0 runs, 2 log directories, 0 done jobs")
        let logs = Set(try FileManager.default.contentsOfDirectory(atPath: home + "/logs"))
        #expect(logs == [recent], "\(logs)")
        #expect(try await AtomdProcess.run(["show", closed, "--home", home, "--socket", home + "/none.sock"]).status == 0, "the run stays in the journal")
    }
}
