import AtomdTestSupport
import Foundation
import Testing

/// Issue 31: an unprivileged user floods the control socket and the console
/// with half-sent requests, the console's from nine loopback addresses.
/// Each server keeps at most 32 of that user's (or
/// address's) connections and closes the rest at once; the ones kept are
/// closed when their request head is not complete in 10 s; the agent's
/// descriptors stay far from its limit, and a job claimed meanwhile runs and
/// its revert succeeds.
@Suite struct ConnectionFloodTests {
    /// Opens `count` half-sent connections to each server, keeps them alive
    /// with a byte every 2 s, and reports how many the servers still hold,
    /// until all are closed.
    static let flood = #"""
        import socket, sys, time, select
        path, host, port, count, report = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
        def out(line):
            with open(report, "a") as f: f.write(line + "\n")
        conns, refused = [], {"unix": 0, "tcp": 0}
        for kind in ("unix", "tcp"):
            for i in range(count):
                try:
                    if kind == "unix":
                        s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(path)
                    else:
                        # From 127.0.0.1 to 127.0.0.9 in turn: any local user may,
                        # and the console must still count them as one user.
                        s = socket.create_connection((host, port), timeout=2, source_address=("127.0.0.%d" % (1 + i % 9), 0))
                    s.sendall(b"GET /runs HTTP/1.1\r\nHost: atomd\r\n")
                    conns.append((kind, s))
                except OSError:
                    refused[kind] += 1
        out("opened %d refused %d %d" % (len(conns), refused["unix"], refused["tcp"]))
        start = time.monotonic()
        open_ = {id(s): (k, s) for k, s in conns}
        trickled = start
        while open_ and time.monotonic() - start < 40:
            # A byte every 2 s: an idle timeout alone never fires (slowloris).
            if time.monotonic() - trickled >= 2:
                trickled = time.monotonic()
                for _, s in open_.values():
                    try: s.send(b"x")
                    except OSError: pass
            ready, _, _ = select.select([s for _, s in open_.values()], [], [], 0.2)
            for s in ready:
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    del open_[id(s)]
            held = {"unix": 0, "tcp": 0}
            for k, _ in open_.values(): held[k] += 1
            out("t=%.1f unix=%d tcp=%d" % (time.monotonic() - start, held["unix"], held["tcp"]))
        out("done t=%.1f open=%d" % (time.monotonic() - start, len(open_)))
        """#

    @Test(.timeLimit(.minutes(3))) func halfSentConnectionsAreCappedAndTimedOutAndJobsRunOn() async throws {
        let outsider = try TestUsers.outsider
        let shared = try TestUsers.reachableDirectory("atomd-flood")
        defer { try? FileManager.default.removeItem(atPath: shared) }
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-agent-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        try "api:\n  socket: \(shared)/atomd.sock\n  public_read: true\n  listen: 127.0.0.1:0\n"
            .write(toFile: home + "/atomd.yaml", atomically: true, encoding: .utf8)
        // The incident's limit: 1,024 descriptors, soft and hard.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
        process.arguments = ["--nofile=1024:1024", "--", AtomdProcess.binary.path, "agent", "--home", home]
        process.currentDirectoryURL = AtomdProcess.repository
        process.environment = ProcessInfo.processInfo.environment.merging(["ATOMD_TEST_ATOMS": "1"]) { _, new in new }
        let stdoutURL = URL(fileURLWithPath: home + ".stdout"), stderrURL = URL(fileURLWithPath: home + ".stderr")
        try Data().write(to: stdoutURL)
        try Data().write(to: stderrURL)
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let agent = AgentProcess(home: home, running: RunningAtomd(process: process, stdoutURL: stdoutURL, stderrURL: stderrURL))
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let socket = shared + "/atomd.sock"
        let console = try await AtomdProcess.run(["console", "--json", "--home", home, "--socket", socket])
        try #require(console.status == 0, "atomd console failed: \(console.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(console.stdout.utf8)) as? [String: Any])
        let url = try #require(object["url"] as? String)
        let port = try #require(try ConsoleSecurityTests.base(of: url).split(separator: ":").last.map(String.init))

        let script = shared + "/flood.py", report = shared + "/flood.txt"
        try Self.flood.write(toFile: script, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: report, contents: nil, attributes: [.posixPermissions: 0o666])
        let flood = Process()
        flood.executableURL = URL(fileURLWithPath: outsider.setpriv[0])
        flood.arguments = Array(outsider.setpriv.dropFirst()) + ["/usr/bin/python3", script, socket, "127.0.0.1", port, "600", report]
        flood.standardInput = FileHandle.nullDevice
        flood.standardOutput = FileHandle.nullDevice
        flood.standardError = FileHandle.nullDevice
        try flood.run()
        func lines() -> [String] {
            ((try? String(contentsOfFile: report, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while !lines().contains(where: { $0.hasPrefix("opened") }) {
            try #require(flood.isRunning || lines().contains { $0.hasPrefix("opened") }, "the flood ended early: \(lines())")
            try #require(ContinuousClock.now < deadline, "the flood never finished opening")
            try await Task.sleep(for: .milliseconds(50))
        }
        // The agent holds few descriptors: far from 1,024 and its reserve.
        let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(process.processIdentifier)/fd").count
        print("flood: \(lines().first ?? ""); the agent holds \(descriptors) descriptors")
        #expect(descriptors < 1024 - 256, "the agent holds \(descriptors) descriptors")

        // A job claimed during the flood runs, fails, and its revert succeeds.
        try agent.drop("undo.yaml", """
            version: 1
            name: undo
            steps:
              - { id: make, run: "touch \(shared)/made", revert: "rm \(shared)/made && touch \(shared)/reverted" }
              - { id: fail, run: "exit 3" }
            """)
        let filed = try await agent.waitForFiled(1)
        #expect(filed.failed == ["undo.yaml"], "\(filed)")
        #expect(FileManager.default.fileExists(atPath: shared + "/reverted"), "\(agent.log)")
        let runs = try await AtomdProcess.run(["runs", "--json", "--home", home, "--socket", socket])
        #expect(runs.stdout.contains("\"reverted\""), "\(runs.stdout)")

        flood.waitUntilExit()
        let report_ = lines()
        // Beyond 32 per peer, connections were closed at once.
        // A second in, the servers have closed what they refused.
        let early = try #require(report_.first { $0.hasPrefix("t=") && (Double($0.dropFirst(2).prefix { $0 != " " }) ?? 0) >= 1 }, "\(report_)")
        let held = early.split(separator: " ").dropFirst().compactMap { Int($0.split(separator: "=").last ?? "") }
        #expect(held.count == 2 && held.allSatisfy { $0 <= 32 }, "\(early)")
        // And the half-sent ones kept were closed by the head deadline.
        let done = try #require(report_.last, "\(report_)")
        #expect(done.hasPrefix("done") && done.hasSuffix("open=0"), "\(done)")
        let seconds = Double(done.split(separator: " ")[1].dropFirst(2)) ?? 99
        #expect(seconds < 20, "\(done)")
        print("flood: \(early); \(done)")
        #expect(agent.log.contains("refusing connections"), "\(agent.log)")
    }
}

/// Issue 31: a claimed job the journal cannot take now (here: another
/// process holds the journal's write lock past the busy timeout) stays in
/// processing/ and starts once the journal takes writes again, without a
/// restart. Before, it waited in processing/ for the next start.
@Suite struct ClaimedJobRetryTests {
    static let holder = #"""
        import sqlite3, sys, time, os
        db, locked, release = sys.argv[1], sys.argv[2], sys.argv[3]
        con = sqlite3.connect(db, isolation_level=None, timeout=30)
        con.execute("BEGIN EXCLUSIVE")
        open(locked, "w").close()
        deadline = time.monotonic() + 90
        while not os.path.exists(release) and time.monotonic() < deadline:
            time.sleep(0.05)
        con.execute("COMMIT")
        con.close()
        """#

    @Test(.timeLimit(.minutes(2))) func aJobTheJournalCannotTakeYetIsTriedAgainNotLeftBehind() async throws {
        let agent = try AgentProcess.start()
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let script = agent.home + "/hold.py", locked = agent.home + "/locked", release = agent.home + "/release"
        try Self.holder.write(toFile: script, atomically: true, encoding: .utf8)
        let hold = Process()
        hold.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        hold.arguments = [script, agent.home + "/journal.sqlite", locked, release]
        hold.standardInput = FileHandle.nullDevice
        hold.standardOutput = FileHandle.nullDevice
        hold.standardError = FileHandle.nullDevice
        try hold.run()
        defer { _ = FileManager.default.createFile(atPath: release, contents: nil) }
        let deadline = ContinuousClock.now + .seconds(30)
        while !FileManager.default.fileExists(atPath: locked) {
            try #require(hold.isRunning, "the lock holder ended early")
            try #require(ContinuousClock.now < deadline, "the journal was never locked")
            try await Task.sleep(for: .milliseconds(20))
        }
        try agent.drop("later.yaml", "version: 1\nname: later\nsteps:\n  - { id: a, run: \"true\" }\n")
        try await agent.waitForLog("later.yaml: the journal cannot record a new run")
        #expect(agent.jobs(in: "processing") == ["later.yaml"])
        _ = FileManager.default.createFile(atPath: release, contents: nil)
        hold.waitUntilExit()
        let filed = try await agent.waitForFiled(1, limit: .seconds(60))
        #expect(filed.done == ["later.yaml"], "\(filed)\n\(agent.log)")
    }
}
