import AtomdEngine
import AtomdPlugins
import AtomdSpec
import AtomdTestSupport
import Foundation
import Testing

@Suite("Loading the real plugins")
struct PluginLoadingTests {
    @Test("A C plugin's atom runs with its outputs, log lines and progress", arguments: bothModes)
    func echo(mode: Isolation) async throws {
        let catalog = PluginCatalog(settings: try settings(["trouble"], inProcess: mode == .inProcess ? ["trouble"] : []))
        defer { catalog.shutDown() }
        let echo = try await atom("trouble.echo", in: catalog)
        #expect(echo.capabilities == [.revert, .check])
        let log = CapturedLog()
        let result = try await echo.execute(.object(["x": .integer(1), "text": .string("é \"quoted\"")]), context: context(log))
        #expect(result.outputs == .object(["input": .object(["x": .integer(1), "text": .string("é \"quoted\"")])]))
        #expect(result.newState == .string("echoed"))
        #expect(log.all.contains("echo: called"))
        #expect(try await echo.check(.object(["present": .integer(1)]), outputs: nil, context: context()) == .present(outputs: nil))
        #expect(try await echo.check(.object([:]), outputs: nil, context: context()) == .absent)
        try await echo.revert(.object([:]), outputs: result.outputs, context: context(log))
        #expect(log.all.contains { $0.hasPrefix("revert with outputs {\"input\":") })
    }

    @Test("An atom's own failure keeps its message and says it is not retryable", arguments: bothModes)
    func pluginFailure(mode: Isolation) async throws {
        let catalog = PluginCatalog(settings: try settings(["trouble"], inProcess: mode == .inProcess ? ["trouble"] : []))
        defer { catalog.shutDown() }
        let fail = try await atom("trouble.fail", in: catalog)
        let error = try #require(await failure { _ = try await fail.execute(.object([:]), context: context()) })
        #expect(error.message == "trouble.fail failed as asked")
        #expect(!error.retryable)
        let garble = try await atom("trouble.garble", in: catalog)
        let broken = try #require(await failure { _ = try await garble.execute(.object([:]), context: context()) })
        #expect(broken.message.contains("not JSON"))
    }

    @Test("kv.set, the C example: set, check, revert to the previous value", arguments: bothModes)
    func kvSet(mode: Isolation) async throws {
        let catalog = PluginCatalog(settings: try settings(["kv"], inProcess: mode == .inProcess ? ["kv"] : []))
        defer { catalog.shutDown() }
        let set = try await atom("kv.set", in: catalog)
        let file = try PluginFixtures.directory("kv") + "/settings"
        try "colour=green\nmode=a\n".write(toFile: file, atomically: true, encoding: .utf8)
        let input: JSONValue = .object(["file": .string(file), "key": .string("colour"), "value": .string("blue")])
        #expect(try await set.check(input, outputs: nil, context: context()) == .absent)
        let result = try await set.execute(input, context: context())
        #expect(result.outputs == .object(["previous": .string("green")]))
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "colour=blue\nmode=a\n")
        #expect(try await set.check(input, outputs: result.outputs, context: context()) == .present(outputs: nil))
        try await set.revert(input, outputs: result.outputs, context: context())
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "colour=green\nmode=a\n")
        let bad = try #require(await failure { _ = try await set.execute(.object(["file": .string(file)]), context: context()) })
        #expect(bad.message.contains("needs string members file, key and value"))
        #expect(!bad.retryable)
    }

    @Test("A Swift plugin lists its atoms with their schemas; an input error names the field", arguments: bothModes)
    func swiftPlugin(mode: Isolation) async throws {
        let catalog = PluginCatalog(settings: try settings(["files"], inProcess: mode == .inProcess ? ["files"] : []))
        defer { catalog.shutDown() }
        let listing = try #require(await catalog.inventory().first)
        let descriptor = try #require(listing.descriptor)
        #expect(descriptor.name == "files")
        #expect(descriptor.atoms.map(\.name) == ["write", "symlink", "extract", "remove"])
        #expect(descriptor.atoms.allSatisfy { $0.canRevert && $0.canCheck })
        #expect(descriptor.atom(named: "write")?.inputSchema?["required"] == .array([.string("path"), .string("content")]))
        #expect(listing.sha256?.count == 64)
        let write = try await atom("files.write", in: catalog)
        let error = try #require(await failure { _ = try await write.execute(.object(["path": .string("/tmp/x")]), context: context()) })
        #expect(error.message == "invalid input: 'content' is missing")
        #expect(!error.retryable && error.changedNothing)
    }

    @Test("A plugin that is not there, or a name used twice, is reported by name")
    func missing() async throws {
        let catalog = PluginCatalog(settings: try settings(["kv"]))
        defer { catalog.shutDown() }
        do {
            _ = try await catalog.atoms(forPlugins: ["nosuch", "kv"])
            Issue.record("a missing plugin was not reported")
        } catch {
            #expect(error.errors.count == 1)
            #expect(error.errors[0].message.contains("no plugin named 'nosuch'"))
        }
        let directory = catalog.settings.directories[0]
        try FileManager.default.copyItem(atPath: directory + "/libkv.so", toPath: directory + "/kv.so")
        let listings = await catalog.inventory()
        #expect(listings.contains { $0.path.hasSuffix("/libkv.so") && $0.error?.message.contains("shadowed") == true })
    }
}
