import AtomdAgent
import AtomdSpec
import Foundation
import Testing

/// The spool on real directories: what is a job, what is claimed, what is
/// refused, and that no file is ever replaced or lost.
@Suite struct SpoolTests {
    let spool: Spool

    init() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-spool-\(UUID().uuidString)").path
        spool = Spool(layout: SpoolLayout(root: root))
        try spool.layout.create()
    }

    /// Drops a job file into `incoming/` the way a producer should: written aside, then renamed in.
    @discardableResult
    func drop(_ name: String, _ text: String = "version: 1\nname: t\nsteps: [{ id: a, run: 'true' }]\n", mode: mode_t = 0o644) throws -> String {
        let aside = spool.layout.incoming + "/." + name
        try text.write(toFile: aside, atomically: false, encoding: .utf8)
        chmod(aside, mode)
        let path = spool.layout.incoming + "/" + name
        #expect(rename(aside, path) == 0)
        return path
    }

    /// Finding 6 of the hardening issue: a world-writable spool was accepted,
    /// and an ordinary user could then replace processing/ with a symlink.
    @Test func aSpoolOthersCanWriteToIsRefusedWithTheFix() throws {
        defer { try? FileManager.default.removeItem(atPath: spool.layout.root) }
        try spool.layout.checkTrusted()
        // Its group may write incoming/ only if it is sticky (issue 30):
        // members could otherwise rename the agent's jobs and sidecars.
        chmod(spool.layout.incoming, 0o770)
        let shared = #expect(throws: TrustedDirectory.Refusal.self) { try spool.layout.checkTrusted() }
        #expect(shared?.fix.contains("chmod +t \(spool.layout.incoming)") == true, "\(String(describing: shared))")
        chmod(spool.layout.incoming, 0o1770)
        try spool.layout.checkTrusted()
        for (directory, mode, fix) in [(spool.layout.incoming, mode_t(0o777), "chmod o-w"), (spool.layout.processing, 0o777, "chmod go-w"),
                                       (spool.layout.failed, 0o770, "chmod go-w"), (spool.layout.root, 0o757, "chmod go-w")] {
            chmod(directory, mode)
            let refusal = #expect(throws: TrustedDirectory.Refusal.self) { try spool.layout.checkTrusted() }
            #expect(refusal?.path == directory && refusal?.fix.contains("\(fix) \(directory)") == true, "\(String(describing: refusal))")
            chmod(directory, 0o700)
        }
    }

    func names(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    @Test func onlyYAMLFilesThatAreNotWorkInProgressAreJobs() {
        for name in ["deploy.yaml", "a.yml", "x.y.yaml"] { #expect(SpoolNames.isJob(name), "\(name)") }
        for name in [".deploy.yaml", "deploy.yaml~", "deploy.yaml.tmp", "deploy.tmp", "deploy.json", ".yaml", "yaml", "", "a/b.yaml"] {
            #expect(!SpoolNames.isJob(name), "\(name)")
        }
    }

    @Test func createMakesTheFourDirectoriesAndIsSafeToRepeat() throws {
        try spool.layout.create()
        #expect(try names(spool.layout.root) == ["done", "failed", "incoming", "processing"])
        var info = stat()
        #expect(stat(spool.layout.processing, &info) == 0 && info.st_mode & 0o777 == 0o700)

        let blocked = SpoolLayout(root: spool.layout.root + "/incoming/../done/x")
        try "not a directory".write(toFile: spool.layout.done + "/x", atomically: true, encoding: .utf8)
        #expect(throws: SpoolError.self) { try blocked.create() }
    }

    @Test func aJobIsClaimedIntoProcessingAndFiledInDone() throws {
        try drop("deploy.yaml")
        #expect(try spool.scan() == ["deploy.yaml"])
        #expect(try spool.claim("deploy.yaml") == .claimed("deploy.yaml"))
        #expect(try names(spool.layout.incoming) == [])
        #expect(spool.claimed() == ["deploy.yaml"])
        #expect(try spool.finish("deploy.yaml") == "deploy.yaml")
        #expect(try names(spool.layout.done) == ["deploy.yaml"])
        #expect(try names(spool.layout.processing) == [])
        // Claiming again finds nothing: the same file is never run twice.
        #expect(try spool.claim("deploy.yaml") == .ignored)
    }

    /// The change time of `path`, as the file system records it.
    func changed(_ path: String) -> timespec {
        var info = stat()
        lstat(path, &info)
        return info.st_ctim
    }

    /// Returns once a new change time differs from `path`'s: file systems
    /// stamp in coarse ticks, and arrival order needs distinct stamps.
    func waitForNextTick(after path: String) throws {
        let probe = spool.layout.root + "/probe"
        let before = changed(path)
        repeat {
            try "tick".write(toFile: probe, atomically: false, encoding: .utf8)
        } while changed(probe).tv_sec == before.tv_sec && changed(probe).tv_nsec == before.tv_nsec
    }

    @Test func scanListsJobsInOrderOfArrivalAndSkipsTheRest() throws {
        for name in ["c.yaml", "a.yaml", "b.yml"] {
            try waitForNextTick(after: try drop(name))
        }
        try "x".write(toFile: spool.layout.incoming + "/notes.txt", atomically: true, encoding: .utf8)
        try "x".write(toFile: spool.layout.incoming + "/.half.yaml", atomically: false, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: spool.layout.incoming + "/dir.yaml", withIntermediateDirectories: false)
        #expect(symlink(spool.layout.incoming + "/a.yaml", spool.layout.incoming + "/link.yaml") == 0)
        #expect(try spool.scan() == ["c.yaml", "a.yaml", "b.yml"])
    }

    @Test func nothingInTheSpoolIsEverReplaced() throws {
        for round in 0..<3 {
            try drop("same.yaml", "round \(round)\n")
            let claimed = try #require({ if case .claimed(let name) = try spool.claim("same.yaml") { name } else { nil } }())
            try spool.finish(claimed)
        }
        #expect(try names(spool.layout.done) == ["same.1.yaml", "same.2.yaml", "same.yaml"])
        #expect(try String(contentsOfFile: spool.layout.done + "/same.2.yaml", encoding: .utf8) == "round 2\n")
    }

    @Test func aFailedJobGetsAReportWithFileLineAndColumn() throws {
        try drop("bad.yaml", "version: 1\nname: t\nsteps: [{ id: a, rn: x }]\n")
        guard case .claimed(let name) = try spool.claim("bad.yaml") else { Issue.record("not claimed"); return }
        let problems: [Diagnostic]
        do {
            _ = try JobLoader.load(path: spool.layout.processing + "/" + name)
            problems = []
        } catch {
            problems = error.diagnostics
        }
        try #require(!problems.isEmpty)
        try spool.finish(name, failure: SpoolReport(file: "bad.yaml", diagnostics: problems))
        #expect(try names(spool.layout.failed) == ["bad.yaml", "bad.yaml.error.json"])
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: spool.layout.failed + "/bad.yaml.error.json")))
        let object = try #require(report as? [String: Any])
        #expect(object["file"] as? String == "bad.yaml")
        #expect(object["line"] as? Int == 3)
        #expect(object["column"] as? Int == problems.first?.location.column)
        #expect((object["message"] as? String)?.isEmpty == false)
        #expect((object["errors"] as? [Any])?.count == problems.count)
    }

    @Test(arguments: [(0o664 as mode_t, "writable by its group"), (0o646, "writable by its group or by everyone")])
    func aWritableFileIsRefusedIntoFailed(mode: mode_t, message: String) throws {
        try drop("open.yaml", mode: mode)
        #expect(try spool.claim("open.yaml") == .rejected("open.yaml"))
        #expect(try names(spool.layout.processing) == [])
        let report = try String(contentsOfFile: spool.layout.failed + "/open.yaml.error.json", encoding: .utf8)
        #expect(report.contains(message))
        #expect(report.contains("chmod go-w"))
    }

    /// The longest name a directory takes still gets a report and a number:
    /// the stem is shortened, the extension kept.
    @Test func aJobWithTheLongestNameIsFiledWithItsReport() throws {
        let name = String(repeating: "n", count: 249) + ".yaml"
        for round in 0..<2 {
            try drop(name, mode: 0o666)
            guard case .rejected(let filed) = try spool.claim(name) else {
                Issue.record("not rejected")
                return
            }
            #expect(filed.utf8.count + ".error.json.tmp".utf8.count + 1 <= 255)
            #expect(filed.hasSuffix(round == 0 ? "n.yaml" : "n.1.yaml"))
            #expect(FileManager.default.fileExists(atPath: spool.layout.failed + "/" + filed + ".error.json"))
        }
        #expect(try names(spool.layout.incoming).isEmpty)
    }

    @Test func aHardLinkedFileIsRefused() throws {
        let path = try drop("linked.yaml")
        let other = spool.layout.root + "/elsewhere.yaml"
        #expect(!spool.isHardLink("linked.yaml"))
        #expect(link(path, other) == 0)
        #expect(spool.isHardLink("linked.yaml"))
        #expect(try spool.claim("linked.yaml") == .rejected("linked.yaml"))
        #expect(try String(contentsOfFile: spool.layout.failed + "/linked.yaml.error.json", encoding: .utf8).contains("2 hard links"))
    }

    @Test func aFileOfAnotherOwnerIsRefused() throws {
        let strict = Spool(layout: spool.layout, check: SpoolFileCheck(trustedOwners: [getuid() + 1]))
        try drop("foreign.yaml")
        #expect(try strict.claim("foreign.yaml") == .rejected("foreign.yaml"))
        #expect(try String(contentsOfFile: spool.layout.failed + "/foreign.yaml.error.json", encoding: .utf8)
            .contains("not by root or the agent's user"))
    }

    @Test func symlinksAndMissingFilesAreLeftAlone() throws {
        let target = spool.layout.root + "/target.yaml"
        try "version: 1\n".write(toFile: target, atomically: true, encoding: .utf8)
        #expect(symlink(target, spool.layout.incoming + "/link.yaml") == 0)
        #expect(try spool.claim("link.yaml") == .ignored)
        #expect(try spool.claim("gone.yaml") == .ignored)
        #expect(try spool.claim(".hidden.yaml") == .ignored)
        #expect(try names(spool.layout.incoming) == ["link.yaml"])
        #expect(try names(spool.layout.failed) == [])
    }

    /// A claimed job removed by hand: nothing is filed, nothing else moved,
    /// and its sidecar goes too.
    @Test func finishingAJobThatIsGoneFilesNothing() throws {
        let sidecar = spool.layout.processing + "/.gone.yaml.submit.json"
        _ = FileManager.default.createFile(atPath: sidecar, contents: Array("{}".utf8).withUnsafeBytes { Data($0) })
        #expect(try spool.finish("gone.yaml") == nil)
        #expect(try names(spool.layout.done) == [] && names(spool.layout.failed) == [])
        #expect(!FileManager.default.fileExists(atPath: sidecar))
    }
}
