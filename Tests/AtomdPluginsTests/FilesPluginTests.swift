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
        let source = root + "/src"
        try FileManager.default.createDirectory(atPath: source + "/bin", withIntermediateDirectories: true)
        try "run".write(toFile: source + "/bin/app", atomically: true, encoding: .utf8)
        try "readme".write(toFile: source + "/README", atomically: true, encoding: .utf8)
        let archive = root + "/app.tar.gz"
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = ["tar", "-czf", archive, "-C", source, "."]
        try tar.run()
        tar.waitUntilExit()
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
        #expect(refused.message.contains("tar could not extract"))
        try await extract.revert(input, outputs: nil, context: context(key: "run-2/step/1"))
        #expect(read(target + "/README") == "theirs")
        #expect(try FileManager.default.contentsOfDirectory(atPath: target).sorted() == ["README", "keep.txt"])
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
