import AtomdEngine
import AtomdPlugins
import AtomdSpec
import AtomdTestSupport
import Foundation
import Testing

/// Every refusal of DESIGN.md section 6 and of the ABI checks, each with its message.
@Suite("Refusing unsafe and malformed plugins")
struct PluginSafetyTests {
    /// The one load error for plugin `name` with `settings`.
    func refusal(_ name: String, _ settings: PluginSettings) async -> PluginError? {
        let catalog = PluginCatalog(settings: settings)
        defer { catalog.shutDown() }
        do {
            _ = try await catalog.atoms(forPlugins: [name])
            return nil
        } catch {
            return error.errors.first
        }
    }

    @Test("A plugin file writable by its group or by everyone is refused", arguments: [0o775, 0o757])
    func writableFile(mode: Int) async throws {
        let settings = try settings(["kv"])
        chmod(settings.directories[0] + "/libkv.so", mode_t(mode))
        let error = try #require(await refusal("kv", settings))
        #expect(error.message.contains("writable by its group or by everyone"))
        #expect(error.hint?.contains("chmod go-w") == true)
    }

    @Test("A plugin directory writable by others is refused; a root-owned sticky one is not")
    func writableDirectory() async throws {
        let settings = try settings(["kv"])
        chmod(settings.directories[0], 0o777)
        let error = try #require(await refusal("kv", settings))
        #expect(error.message.contains("the directory \(settings.directories[0]) is writable"))
        chmod(settings.directories[0], 0o1777)
        if getuid() == 0 {
            #expect(await refusal("kv", settings) == nil)
        }
    }

    @Test("A plugin owned by another user is refused")
    func foreignOwner() async throws {
        let settings = try settings(["kv"])
        var trusting = settings
        trusting.trustedOwners = [getuid() == 0 ? 4242 : 0]
        let error = try #require(await refusal("kv", trusting))
        #expect(error.message.contains("not by root or the agent's user"))
    }

    @Test("A symlink is resolved and its target checked too")
    func symlinks() async throws {
        let settings = try settings([])
        let outside = try PluginFixtures.pluginDirectory(["kv"])
        symlink(outside + "/libkv.so", settings.directories[0] + "/kv.so")
        #expect(await refusal("kv", settings) == nil, "a link to a safe file loads")
        chmod(outside, 0o777)
        let error = try #require(await refusal("kv", settings))
        #expect(error.message.contains("the directory \(outside) is writable"))
    }

    /// A fresh directory directly in /tmp (sticky, world-writable, root's), where any user can make entries.
    static func inTmp(_ label: String) -> String { "/tmp/atomd-\(label)-\(UUID().uuidString)" }

    /// Issue 30, item 10: only the resolved path used to be checked, so a
    /// directory reached through another user's directory or symlink was
    /// accepted, although that user can point it elsewhere at any time.
    @Test("A plugin directory reached through another user's directory is refused, naming it")
    func throughAnotherUsersDirectory() async throws {
        let outsider = try TestUsers.outsider
        let good = try settings(["kv"])
        #expect(await refusal("kv", good) == nil)
        let evil = Self.inTmp("evil")
        defer { try? FileManager.default.removeItem(atPath: evil) }
        #expect(mkdir(evil, 0o755) == 0)
        #expect(chown(evil, outsider.uid, outsider.gid) == 0)
        #expect(symlink(good.directories[0], evil + "/plugins") == 0)
        var through = good
        through.directories = [evil + "/plugins"]
        let error = try #require(await refusal("kv", through), "a plugin directory reached through \(evil) (owned by \(outsider)) was accepted")
        #expect(error.message.contains("the directory \(evil) is owned by \(outsider.name), not by root or the agent's user"), "\(error)")
        // The agent's own directories are checked by the same function.
        let refused = #expect(throws: TrustedDirectory.Refusal.self) { try TrustedDirectory.check(evil + "/plugins") }
        #expect(refused?.path == evil, "\(String(describing: refused))")
    }

    @Test("A symlink owned by another user on the way to a plugin is refused, naming it")
    func throughAnotherUsersSymlink() async throws {
        let outsider = try TestUsers.outsider
        let good = try settings(["kv"])
        // In /tmp (sticky): its owner, and only its owner, can replace it.
        let link = Self.inTmp("link")
        defer { unlink(link) }
        #expect(symlink(good.directories[0], link) == 0)
        #expect(lchown(link, outsider.uid, outsider.gid) == 0)
        for configured in [link, link + "/"] {
            var through = good
            through.directories = [configured]
            let error = try #require(await refusal("kv", through), "\(configured), a link owned by \(outsider), was accepted")
            #expect(error.message.contains("\(link) is a symlink owned by \(outsider.name), not by root or the agent's user"), "\(error)")
        }
        // The plugin file itself as another user's link, in a directory only root can write.
        let plugins = try PluginFixtures.directory("plugins")
        #expect(symlink(good.directories[0] + "/libkv.so", plugins + "/kv.so") == 0)
        #expect(lchown(plugins + "/kv.so", outsider.uid, outsider.gid) == 0)
        var linked = good
        linked.directories = [plugins]
        let error = try #require(await refusal("kv", linked))
        #expect(error.message.contains("\(plugins)/kv.so is a symlink owned by \(outsider.name)"), "\(error)")
        let refused = #expect(throws: TrustedDirectory.Refusal.self) { try TrustedDirectory.check(link) }
        #expect(refused?.path == link, "\(String(describing: refused))")
    }

    @Test("A plugin directory reached through root's symlinks loads")
    func throughRootsSymlinks() async throws {
        let good = try settings(["kv"])
        // A root-owned link in /tmp, and one in a directory only root can write, pointing at the first.
        let link = Self.inTmp("link")
        defer { unlink(link) }
        #expect(symlink(good.directories[0], link) == 0)
        let holder = try PluginFixtures.directory("holder")
        #expect(symlink(link, holder + "/plugins") == 0)
        // A relative link too: ../NAME from inside holder.
        #expect(symlink("../" + (good.directories[0] as NSString).lastPathComponent, holder + "/relative") == 0)
        let viaParent = holder + "/../" + (holder as NSString).lastPathComponent
        for configured in [link, holder + "/plugins", holder + "/relative", holder + "/./relative/", viaParent + "/plugins"] {
            var through = good
            through.directories = [configured]
            let error = await refusal("kv", through)
            #expect(error == nil, "\(configured): \(String(describing: error))")
            #expect(throws: Never.self, "\(configured)") { try TrustedDirectory.check(configured) }
        }
    }

    @Test("Only files on the SHA-256 allowlist load")
    func allowlist() async throws {
        var settings = try settings(["kv"])
        settings.allowedSHA256 = [String(repeating: "0", count: 64)]
        let error = try #require(await refusal("kv", settings))
        #expect(error.message.contains("is not in the allowlist"))
        let digest = try #require(error.message.split(separator: " ").first { $0.count == 64 }.map(String.init))
        settings.allowedSHA256 = [digest]
        #expect(await refusal("kv", settings) == nil)
    }

    @Test("Something that is not a regular file is refused")
    func notARegularFile() async throws {
        let settings = try settings([])
        try FileManager.default.createDirectory(atPath: settings.directories[0] + "/kv.so", withIntermediateDirectories: false)
        let error = try #require(await refusal("kv", settings))
        #expect(error.message.contains("is not a regular file"))
    }

    @Test("A plugin whose file name promises another name is refused")
    func nameMismatch() async throws {
        let settings = try settings(["kv"])
        try FileManager.default.moveItem(atPath: settings.directories[0] + "/libkv.so", toPath: settings.directories[0] + "/store.so")
        let error = try #require(await refusal("store", settings))
        #expect(error.message.contains("named for plugin 'store' but declares plugin 'kv'"))
    }

    static let faults: [(define: String, message: String)] = [
        ("NO_ENTRY", "exports no atomd_plugin_entry_v1"),
        ("BAD_MAGIC", "is not an atomd_plugin descriptor (magic 0x1234)"),
        ("MAJOR_TWO", "built for plugin ABI 2.0; this atomd speaks ABI 1.0"),
        ("SMALL_STRUCT", "the descriptor's struct_size is 16 bytes"),
        ("SMALL_ATOM", "atom_struct_size is 8 bytes"),
        ("DUPLICATE", "the atom 'one' is declared twice"),
        ("NO_EXECUTE", "atom 'two' has no execute function"),
        ("REVERT_FLAG_WITHOUT_FUNCTION", "sets ATOMD_ATOM_REVERT but its revert function is NULL"),
        ("BAD_NAME", "name 'Has Spaces' is not valid"),
        ("BAD_SCHEMA", "input_schema is not a JSON object"),
        ("RETURNS_NULL", "returned NULL: the plugin refused to start"),
    ]

    @Test("ABI faults are refused with their own message", arguments: bothModes)
    func abiFaults(mode: Isolation) async throws {
        let source = try String(contentsOf: PluginFixtures.repository.appendingPathComponent("Tests/AtomdPluginsTests/Fixtures/broken.c"),
                                encoding: .utf8)
        for fault in Self.faults {
            var settings = try settings([], inProcess: mode == .inProcess ? ["broken"] : [])
            settings.directories = [try PluginFixtures.directory("broken")]
            try await PluginFixtures.compile(source: source, output: settings.directories[0] + "/broken.so", defines: [fault.define])
            let error = try #require(await refusal("broken", settings), "\(fault.define) was loaded")
            #expect(error.message.contains(fault.message), "\(fault.define): \(error)")
        }
    }

    @Test("A newer minor version loads: minor versions only append")
    func newerMinor() async throws {
        let source = try String(contentsOf: PluginFixtures.repository.appendingPathComponent("Tests/AtomdPluginsTests/Fixtures/broken.c"),
                                encoding: .utf8)
        var settings = try settings([])
        settings.directories = [try PluginFixtures.directory("minor")]
        try await PluginFixtures.compile(source: source, output: settings.directories[0] + "/broken.so", defines: ["NEWER_MINOR"])
        let catalog = PluginCatalog(settings: settings)
        defer { catalog.shutDown() }
        let atoms = try await catalog.atoms(forPlugins: ["broken"])
        #expect(atoms.map(\.name).sorted() == ["broken.one", "broken.two"])
    }
}
