import AtomdEngine
import AtomdPlugins
import AtomdSpec
import AtomdTestSupport
import Foundation
import Testing

/// The shipped `files` plugin against a real file system: each atom's
/// execute, check and revert, and revert without recorded outputs (the
/// agent was interrupted).
@Suite("The files plugin")
struct FilesPluginTests {
    let catalog: PluginCatalog
    let root: String

    init() throws {
        catalog = PluginCatalog(settings: try settings(["files"], inProcess: ["files"]))
        root = try PluginFixtures.directory("files")
    }

    func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    @Test("files.write replaces a file and its revert brings the old one back, even without outputs", arguments: [true, false])
    func writeReplaces(keepOutputs: Bool) async throws {
        let write = try await atom("files.write", in: catalog)
        let path = root + "/app.conf"
        try "old\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o640)
        let input: JSONValue = .object(["path": .string(path), "content": .string("new\n")])
        #expect(try await write.check(input, outputs: nil, context: context()) == .absent)
        let result = try await write.execute(input, context: context())
        #expect(read(path) == "new\n")
        var info = stat()
        stat(path, &info)
        #expect(info.st_mode & 0o777 == 0o640, "the replaced file's mode is kept")
        #expect(try await write.check(input, outputs: result.outputs, context: context()) == .present(outputs: nil))
        // A retry (attempt 2) keeps the first original.
        _ = try await write.execute(input, context: context(key: "run-1/step/2"))
        try await write.revert(input, outputs: keepOutputs ? result.outputs : nil, context: context(key: "run-1/step/2"))
        #expect(read(path) == "old\n")
        #expect(try await write.check(input, outputs: nil, context: context()) == .absent)
    }

    @Test("files.write of a new file: revert removes it; mode is applied")
    func writeCreates() async throws {
        let write = try await atom("files.write", in: catalog)
        let path = root + "/fresh.txt"
        let input: JSONValue = .object(["path": .string(path), "content": .string("x"), "mode": .string("0600")])
        _ = try await write.execute(input, context: context())
        var info = stat()
        stat(path, &info)
        #expect(info.st_mode & 0o777 == 0o600)
        try await write.revert(input, outputs: nil, context: context())
        #expect(!FileManager.default.fileExists(atPath: path))
        let bad = try #require(await failure {
            _ = try await write.execute(.object(["path": .string("relative"), "content": .string("")]), context: context())
        })
        #expect(bad.message.contains("must be an absolute path") && !bad.retryable)
        let badMode = try #require(await failure {
            _ = try await write.execute(.object(["path": .string(path), "content": .string(""), "mode": .string("999")]), context: context())
        })
        #expect(badMode.message.contains("'mode' must be octal"))
    }

    @Test("files.symlink switches atomically and switches back")
    func symlinkSwitch() async throws {
        let link = try await atom("files.symlink", in: catalog)
        let path = root + "/current"
        symlink("releases/1.0", path)
        let input: JSONValue = .object(["path": .string(path), "target": .string("releases/1.1")])
        let result = try await link.execute(input, context: context())
        #expect(result.outputs["previousTarget"] == .string("releases/1.0"))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: path) == "releases/1.1")
        #expect(try await link.check(input, outputs: nil, context: context()) == .present(outputs: nil))
        try await link.revert(input, outputs: nil, context: context())
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: path) == "releases/1.0")
        try "file".write(toFile: root + "/plain", atomically: true, encoding: .utf8)
        let refused = try #require(await failure {
            _ = try await link.execute(.object(["path": .string(root + "/plain"), "target": .string("x")]), context: context())
        })
        #expect(refused.message.contains("is not a symlink"))
    }

    @Test("files.extract adds what the archive holds, replaces nothing, and its revert removes exactly that")
    func extract() async throws {
        let extract = try await atom("files.extract", in: catalog)
        let archive = try archive(["bin/app": "run", "README": "readme"])
        let target = root + "/release"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try "mine".write(toFile: target + "/keep.txt", atomically: true, encoding: .utf8)
        let input: JSONValue = .object(["archive": .string(archive), "directory": .string(target)])
        #expect(try await extract.check(input, outputs: nil, context: context()) == .absent)
        let result = try await extract.execute(input, context: context())
        #expect(read(target + "/bin/app") == "run")
        #expect(try await extract.check(input, outputs: nil, context: context()) == .present(outputs: nil))
        #expect(result.outputs["added"] == .array([.string("bin"), .string("bin/app"), .string("README")])
            || result.outputs["added"] == .array([.string("README"), .string("bin"), .string("bin/app")]))
        try await extract.revert(input, outputs: nil, context: context())
        #expect(try FileManager.default.contentsOfDirectory(atPath: target) == ["keep.txt"])
        // A file in the way: refused, and nothing of the archive is left.
        try "theirs".write(toFile: target + "/README", atomically: true, encoding: .utf8)
        let refused = try #require(await failure { _ = try await extract.execute(input, context: context(key: "run-2/step/1")) })
        #expect(refused.message.contains("without replacing what is there: \(target)/README exists"), "\(refused.message)")
        try await extract.revert(input, outputs: nil, context: context(key: "run-2/step/1"))
        #expect(read(target + "/README") == "theirs")
        #expect(try FileManager.default.contentsOfDirectory(atPath: target).sorted() == ["README", "keep.txt"])
    }

    /// Issue 30 attack review: tar, as root, kept an archive's setuid bits
    /// (a setuid copy of `id` ran as root for the directory's owner) and
    /// made its device nodes.
    @Test("files.extract clears setuid bits and refuses special files", .timeLimit(.minutes(1)))
    func extractDefusesModes() async throws {
        let extract = try await atom("files.extract", in: catalog)
        let suid = try archive(["app/tool": "#!/bin/sh\n", "app/sub/helper": "x"]) { source in
            chmod(source + "/app/tool", 0o4755)
            chmod(source + "/app/sub/helper", 0o2755)
        }
        let target = root + "/release-modes"
        let input: JSONValue = .object(["archive": .string(suid), "directory": .string(target)])
        _ = try await extract.execute(input, context: context(key: "run-modes/step/1"))
        var info = stat()
        #expect(lstat(target + "/app/tool", &info) == 0 && info.st_mode & 0o7777 == 0o755, "mode \(String(info.st_mode & 0o7777, radix: 8))")
        #expect(lstat(target + "/app/sub/helper", &info) == 0 && info.st_mode & 0o7777 == 0o755, "mode \(String(info.st_mode & 0o7777, radix: 8))")
        try await extract.revert(input, outputs: nil, context: context(key: "run-modes/step/1"))
        #expect(!FileManager.default.fileExists(atPath: target))
        let fifo = try archive(["app/ok": "x"]) { source in
            #expect(mkfifo(source + "/app/pipe", 0o666) == 0)
        }
        let other = root + "/release-fifo"
        let fifoInput: JSONValue = .object(["archive": .string(fifo), "directory": .string(other)])
        let refused = try #require(await failure { _ = try await extract.execute(fifoInput, context: context(key: "run-fifo/step/1")) })
        #expect(refused.message.contains("holds what atomd does not extract") && refused.message.contains("app/pipe"), "\(refused.message)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: other)) ?? []).filter { !$0.hasPrefix(".") }.isEmpty,
                "nothing of the archive may be moved into place")
        try await extract.revert(fifoInput, outputs: nil, context: context(key: "run-fifo/step/1"))
    }

    @Test("files.extract refuses an archive with entries outside its directory")
    func hostileArchive() async throws {
        let extract = try await atom("files.extract", in: catalog)
        let archive = root + "/evil.tar.gz"
        try FileManager.default.createDirectory(atPath: root + "/a/b", withIntermediateDirectories: true)
        try "x".write(toFile: root + "/a/escape", atomically: true, encoding: .utf8)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = ["tar", "-P", "-czf", archive, "-C", root + "/a/b", "../escape"]
        try tar.run()
        tar.waitUntilExit()
        let refused = try #require(await failure {
            _ = try await extract.execute(.object(["archive": .string(archive), "directory": .string(root + "/out")]), context: context())
        })
        #expect(refused.message.contains("has an entry outside its directory: ../escape"))
        #expect(!FileManager.default.fileExists(atPath: root + "/out"))
    }

    @Test("files.remove moves into the trash and revert restores")
    func remove() async throws {
        let remove = try await atom("files.remove", in: catalog)
        let path = root + "/old.log"
        try "log".write(toFile: path, atomically: true, encoding: .utf8)
        let input: JSONValue = .object(["path": .string(path)])
        #expect(try await remove.check(input, outputs: nil, context: context()) == .absent)
        let result = try await remove.execute(input, context: context())
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(result.outputs["trashed"].interpolated.hasPrefix(root + "/.atomd-trash/"))
        #expect(try await remove.check(input, outputs: nil, context: context()) == .present(outputs: nil))
        try await remove.revert(input, outputs: nil, context: context())
        #expect(read(path) == "log")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).filter { $0.hasPrefix(".") }.isEmpty,
                "no trash directory or marker left after the revert")
    }
}

/// The same atoms where root changes files in a directory a less-trusted
/// user owns (root deploying into deploy's /srv/app): that user, a real
/// account, swaps links into the paths at the worst moment, and each test
/// then looks at the world: root's file in a 0700 directory beside it must
/// still be there, root's, with its bytes; and the legitimate use next to
/// the attack must still work and leave nothing behind.
extension FilesPluginTests {
    @Test("files.write with owner: refuses a directory that deploy made a link to root's, and still writes deploy's file where it should",
          .timeLimit(.minutes(1)))
    func writeRefusesLinkedDirectory() async throws {
        let field = try Battlefield(in: root)
        try field.asDeploy("ln -s \(field.vault) current")
        let write = try await atom("files.write", in: catalog)
        // Before the fix this wrote a file in the vault, chowned it to deploy and renamed it over the secret.
        let attack: JSONValue = .object(["path": .string(field.app + "/current/secret"), "content": .string("owned\n"),
                                         "owner": .string(field.deploy.name), "mode": .string("0666")])
        let outcome = await failure { _ = try await write.execute(attack, context: context()) }
        field.expectVaultIntact()
        let refused = try #require(outcome)
        #expect(refused.message.contains(
            "\(field.app)/current is a symbolic link; atomd does not follow links in paths another user could change"), "\(refused.message)")
        #expect(!refused.retryable)

        let path = field.app + "/app.conf"
        let legitimate: JSONValue = .object(["path": .string(path), "content": .string("port: 80\n"),
                                             "owner": .string(field.deploy.name), "mode": .string("0640")])
        _ = try await write.execute(legitimate, context: context(key: "run-1/step/2"))
        var info = stat()
        #expect(lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG)
        #expect(info.st_uid == field.deploy.uid && info.st_mode & 0o7777 == 0o640, "owner \(info.st_uid), mode \(String(info.st_mode & 0o7777, radix: 8))")
        #expect(read(path) == "port: 80\n")
        try await write.revert(legitimate, outputs: nil, context: context(key: "run-1/step/2/revert/1"))
        #expect(field.appEntries == ["current"], "only deploy's own link is left")
        field.expectVaultIntact()
    }

    @Test("files.write with owner: a link deploy swaps in for the temporary file while it is written is never chowned",
          .timeLimit(.minutes(1)))
    func writeRaceWithSwappedTemporary() async throws {
        let field = try Battlefield(in: root)
        // Deploy, as fast as it can, turns every temporary file of files.write
        // in its directory into a link to the secret (the name is predictable).
        // It gives up by itself after a minute, should the test not stop it.
        let attacker = try field.startAsDeploy("""
            exec perl -e 'my $end = time + 60; while (time < $end) { opendir(my $d, ".") or die; for (readdir $d) { \
            next unless /\\.atomd-new-/; unlink(".swap"); symlink($ARGV[0], ".swap"); rename(".swap", $_) } closedir $d }' \(field.secret)
            """)
        defer {
            // SIGKILL: the child inherits the test threads' signal mask, which blocks SIGTERM.
            kill(attacker.processIdentifier, SIGKILL)
            attacker.waitUntilExit()
        }
        let write = try await atom("files.write", in: catalog)
        let path = field.app + "/app.conf"
        let input: JSONValue = .object(["path": .string(path), "content": .string("port: 80\n"), "owner": .string(field.deploy.name)])
        var attempts = 0
        // Attempts the attacker got into: failed, or left its link where the file should be.
        var interfered = 0
        let deadline = ContinuousClock.now + .seconds(20)
        while attempts < 300, ContinuousClock.now < deadline, field.vaultIntact {
            // What the last attempt left there (the attacker's link, moved into place by the rename).
            unlink(path)
            // Failing is fine (the attacker may hold the name): changing the secret is not.
            let failed = (try? await write.execute(input, context: context())) == nil
            var info = stat()
            if failed || lstat(path, &info) != 0 || info.st_mode & S_IFMT != S_IFREG { interfered += 1 }
            attempts += 1
        }
        #expect(attacker.isRunning, "the attacker ran throughout")
        #expect(interfered > 0, "the attacker got in \(interfered) of \(attempts) times")
        field.expectVaultIntact()
    }

    @Test("files.extract's revert never deletes through a directory deploy swapped for a link to root's", .timeLimit(.minutes(1)))
    func extractRevertRefusesSwappedDirectory() async throws {
        // The secret has the name the archive's bin/app has.
        let field = try Battlefield(in: root, secretName: "app")
        let archive = try archive(["bin/app": "run", "README": "readme"])
        let extract = try await atom("files.extract", in: catalog)
        let input: JSONValue = .object(["archive": .string(archive), "directory": .string(field.app)])
        _ = try await extract.execute(input, context: context())
        #expect(read(field.app + "/bin/app") == "run")
        // Deploy cannot write in root's bin, but owns app: it moves bin aside and links bin to the vault.
        try field.asDeploy("mv bin bin.moved && ln -s \(field.vault) bin")
        let log = CapturedLog()
        let outcome = await failure { try await extract.revert(input, outputs: nil, context: context(log)) }
        field.expectVaultIntact()
        let refused = try #require(outcome, "the revert must fail, so that an operator notices")
        #expect(refused.message.contains("\(field.app)/bin is a symbolic link; atomd does not follow links"), "\(refused.message)")
        #expect(log.all.contains { $0.contains("\(field.app)/bin is a symbolic link") }, "\(log.all)")
        #expect(!FileManager.default.fileExists(atPath: field.app + "/README"), "the rest is reverted")
        // The operator puts bin back; the revert, run again, finishes and leaves nothing behind.
        #expect(unlink(field.app + "/bin") == 0 && rename(field.app + "/bin.moved", field.app + "/bin") == 0)
        try await extract.revert(input, outputs: nil, context: context())
        #expect(field.appEntries == [])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).sorted() == ["app", "app.tar.gz", "vault"], "no manifest left")
        field.expectVaultIntact()
    }

    @Test("files.extract never unpacks through a link deploy planted where the archive has a directory", .timeLimit(.minutes(1)))
    func extractRefusesPlantedLink() async throws {
        let field = try Battlefield(in: root)
        let archive = try archive(["bin/app": "run", "README": "readme"])
        let extract = try await atom("files.extract", in: catalog)
        try field.asDeploy("ln -s \(field.vault) bin")
        let input: JSONValue = .object(["archive": .string(archive), "directory": .string(field.app)])
        // Before the fix tar followed bin and made root's vault/app.
        let outcome = await failure { _ = try await extract.execute(input, context: context()) }
        field.expectVaultIntact()
        let refused = try #require(outcome)
        #expect(refused.message.contains("\(field.app)/bin is a symbolic link; atomd does not follow links"), "\(refused.message)")
        try await extract.revert(input, outputs: nil, context: context())
        #expect(field.appEntries == ["bin"], "nothing of the archive, only deploy's link")
        field.expectVaultIntact()

        // Into a fresh directory of deploy's: everything arrives, root's, and the revert takes all of it away.
        let release = field.app + "/releases-2.0"
        let legitimate: JSONValue = .object(["archive": .string(archive), "directory": .string(release)])
        _ = try await extract.execute(legitimate, context: context(key: "run-1/step/2"))
        #expect(read(release + "/bin/app") == "run" && read(release + "/README") == "readme")
        var info = stat()
        #expect(lstat(release + "/bin/app", &info) == 0 && info.st_uid == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: release).sorted() == ["README", "bin"], "no staging left")
        try await extract.revert(legitimate, outputs: nil, context: context(key: "run-1/step/2/revert/1"))
        #expect(field.appEntries == ["bin"])
        field.expectVaultIntact()
    }

    @Test("every files atom refuses a link among its path's directories", .timeLimit(.minutes(1)),
          arguments: ["files.write", "files.symlink", "files.remove", "files.remove trash", "files.extract"])
    func everyAtomRefusesLinkedDirectories(atomName: String) async throws {
        let field = try Battlefield(in: root)
        try field.asDeploy("ln -s \(field.vault) current && echo mine > old.log")
        let linked = field.app + "/current"
        let input: JSONValue = switch atomName {
        case "files.write": .object(["path": .string(linked + "/secret"), "content": .string("x")])
        case "files.symlink": .object(["path": .string(linked + "/secret"), "target": .string("/elsewhere")])
        case "files.remove": .object(["path": .string(linked + "/secret")])
        case "files.remove trash": .object(["path": .string(field.app + "/old.log"), "trash": .string(linked + "/trash")])
        default: .object(["archive": .string(try archive(["README": "readme"])), "directory": .string(linked + "/unpacked")])
        }
        let atom = try await atom(String(atomName.split(separator: " ")[0]), in: catalog)
        let outcome = await failure { _ = try await atom.execute(input, context: context()) }
        field.expectVaultIntact()
        #expect(read(field.app + "/old.log") == "mine\n")
        let refused = try #require(outcome)
        #expect(refused.message.contains("\(linked) is a symbolic link; atomd does not follow links"), "\(refused.message)")
        #expect(try await atom.check(input, outputs: nil, context: context()) != .present(outputs: nil))
    }

    /// A .tar.gz of `files` (relative path: content), made with tar in `root`.
    /// `adjust`: changes the source tree (modes, special files) before tar reads it.
    func archive(_ files: [String: String], adjust: (String) throws -> Void = { _ in }) throws -> String {
        let source = root + "/archive-source-\(UUID().uuidString)"
        for (path, content) in files {
            let file = source + "/" + path
            try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try content.write(toFile: file, atomically: true, encoding: .utf8)
        }
        try adjust(source)
        let archive = root + "/app.tar.gz"
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = ["tar", "-czf", archive, "-C", source, "."]
        try tar.run()
        tar.waitUntilExit()
        try FileManager.default.removeItem(atPath: source)
        guard tar.terminationStatus == 0 else { throw TestUsers.Failure(description: "tar exited \(tar.terminationStatus)") }
        return archive
    }
}

/// A directory of deploy's (`app`, 0755) beside one of root's (`vault`,
/// 0700, holding the secret, 0600), both in the test's root-owned directory.
struct Battlefield {
    static let secretBytes = Data("root only\n".utf8)
    let deploy: TestUsers.Account
    let app: String
    let vault: String
    let secretName: String
    var secret: String { vault + "/" + secretName }

    init(in root: String, secretName: String = "secret") throws {
        deploy = try TestUsers.deploy
        app = root + "/app"
        vault = root + "/vault"
        self.secretName = secretName
        guard mkdir(app, 0o755) == 0, chmod(app, 0o755) == 0, chown(app, deploy.uid, deploy.gid) == 0, mkdir(vault, 0o700) == 0,
              FileManager.default.createFile(atPath: vault + "/" + secretName, contents: Self.secretBytes,
                                             attributes: [.posixPermissions: 0o600])
        else { throw TestUsers.Failure(description: "cannot set up \(root): \(String(cString: strerror(errno)))") }
    }

    /// `script` started by /bin/sh as deploy (setpriv: its uid, gid, no other groups), in `app`.
    func startAsDeploy(_ script: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=\(deploy.uid)", "--regid=\(deploy.gid)", "--clear-groups", "/bin/sh", "-c", script]
        process.currentDirectoryURL = URL(fileURLWithPath: app)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// `script` as deploy, to its end (at most 30 s); a failure fails the test.
    func asDeploy(_ script: String) throws {
        let process = try startAsDeploy(script)
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        // SIGKILL: the child inherits the test threads' signal mask, which blocks SIGTERM.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw TestUsers.Failure(description: "deploy's `\(script)` ended with \(process.terminationStatus)")
        }
    }

    /// Everything in `app`, hidden files included.
    var appEntries: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: app)) ?? ["?"]).sorted() }

    var vaultIntact: Bool {
        var info = stat()
        return lstat(secret, &info) == 0 && info.st_mode & S_IFMT == S_IFREG && info.st_uid == 0 && info.st_gid == 0
            && info.st_mode & 0o7777 == 0o600 && FileManager.default.contents(atPath: secret) == Self.secretBytes
            && (try? FileManager.default.contentsOfDirectory(atPath: vault)) == [secretName]
    }

    /// The secret is there, root's, 0600, with its bytes, and alone in the vault.
    func expectVaultIntact(sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        var info = stat()
        #expect(lstat(secret, &info) == 0 && info.st_mode & S_IFMT == S_IFREG, "the secret is still a file", sourceLocation: sourceLocation)
        #expect(info.st_uid == 0 && info.st_gid == 0 && info.st_mode & 0o7777 == 0o600,
                "the secret is root's: uid \(info.st_uid), gid \(info.st_gid), mode \(String(info.st_mode & 0o7777, radix: 8))",
                sourceLocation: sourceLocation)
        #expect(FileManager.default.contents(atPath: secret) == Self.secretBytes, "the secret's bytes", sourceLocation: sourceLocation)
        #expect((try? FileManager.default.contentsOfDirectory(atPath: vault)) == [secretName],
                "nothing new in the vault", sourceLocation: sourceLocation)
    }
}
