import AtomdTestSupport
import Foundation
import Testing

/// `atomd plugins` and plugin steps in `atomd run`, with the real binary
/// loading the real built plugins from a temporary home.
@Suite struct PluginCommandTests {
    /// A home whose plugins directory holds copies of the built `plugins`.
    struct Home {
        let path: String

        init(_ plugins: [String] = ["files", "kv", "trouble"]) throws {
            path = try PluginFixtures.directory("home")
            try FileManager.default.moveItem(atPath: try PluginFixtures.pluginDirectory(plugins), toPath: path + "/plugins")
        }

        /// Writes `atomd.yaml` into the home and returns its path.
        @discardableResult
        func config(_ yaml: String) throws -> String {
            try yaml.write(toFile: path + "/atomd.yaml", atomically: true, encoding: .utf8)
            return path + "/atomd.yaml"
        }

        func run(_ yaml: String) async throws -> AtomdProcess.Result {
            try await AtomdProcess.run(["run", try AtomdProcess.temporaryJob(yaml), "--home", path])
        }

        /// The file `setThen` changes.
        var settings: String { path + "/settings" }

        /// Runs a job that sets mode=blue in `settings` with kv.set, then runs `step`.
        func setThen(_ step: String) async throws -> AtomdProcess.Result {
            try await run("""
                version: 1
                name: set-then
                steps:
                  - { id: set, uses: kv.set, with: { file: \(settings), key: mode, value: blue } }
                  - \(step)
                """)
        }
    }

    func json(_ text: String) throws -> [[String: Any]] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]], "not a JSON array: \(text)")
    }

    @Test func theShippedPluginsAreListedWithTheirAtoms() async throws {
        let home = try Home(["files", "kv"])
        let listed = try await AtomdProcess.run(["plugins", "--home", home.path, "--json"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let plugins = try json(listed.stdout)
        #expect(plugins.map { $0["name"] as? String } == ["files", "kv"])
        let files = try #require(plugins.first)
        #expect(files["isolation"] as? String == "isolated")
        #expect(files["abi"] as? String == "1.0")
        #expect((files["sha256"] as? String)?.count == 64)
        let atoms = try #require(files["atoms"] as? [[String: Any]])
        #expect(atoms.map { $0["name"] as? String } == ["write", "symlink", "extract", "remove"])
        #expect(atoms.allSatisfy { $0["revert"] as? Bool == true && $0["check"] as? Bool == true })

        let text = try await AtomdProcess.run(["plugins", "--home", home.path])
        #expect(text.stdout.contains("kv 1.0.0  isolated  ABI 1.0  \(home.path)/plugins/libkv.so"))
        #expect(text.stdout.contains("  kv.set [revert, check]  set KEY=VALUE"))
    }

    @Test func inspectShowsEachInputSchema() async throws {
        let home = try Home(["files"])
        let inspected = try await AtomdProcess.run(["plugins", "inspect", "files", "--home", home.path])
        #expect(inspected.status == 0)
        #expect(inspected.stdout.contains("files.write [revert, check]\n  write a file atomically"))
        #expect(inspected.stdout.contains("  input schema:\n"))
        #expect(inspected.stdout.contains("\"content\" : {"))

        let missing = try await AtomdProcess.run(["plugins", "inspect", "nope", "--home", home.path])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("no plugin named 'nope'; `atomd plugins` lists them"))
    }

    @Test func anEmptyPluginDirectoryIsNotAnError() async throws {
        let home = try PluginFixtures.directory("home")
        let listed = try await AtomdProcess.run(["plugins", "--home", home])
        #expect(listed.status == 0)
        #expect(listed.stdout == "no plugins in \(home)/plugins\n")
        #expect(!FileManager.default.fileExists(atPath: home + "/journal.sqlite"))
    }

    @Test func anUnsafePluginIsRefusedAndNoStepRuns() async throws {
        let home = try Home(["kv"])
        chmod(home.path + "/plugins/libkv.so", 0o666)
        let listed = try await AtomdProcess.run(["plugins", "--home", home.path])
        #expect(listed.status == 2)
        #expect(listed.stdout.contains("kv  NOT LOADED  \(home.path)/plugins/libkv.so"))
        #expect(listed.stdout.contains("is writable by its group or by everyone (mode 666)"))

        let settings = home.path + "/settings"
        let result = try await home.run("""
            version: 1
            name: unsafe
            steps:
              - { id: first, run: "touch \(home.path)/ran" }
              - { id: set, uses: kv.set, with: { file: \(settings), key: mode, value: blue } }
            """)
        #expect(result.status == 2)
        #expect(result.stderr.contains("chmod go-w it"))
        #expect(!FileManager.default.fileExists(atPath: home.path + "/ran"))
        #expect(!FileManager.default.fileExists(atPath: settings))
    }

    @Test func aPluginOffTheAllowlistIsRefused() async throws {
        let home = try Home(["kv"])
        let config = try home.config("plugins:\n  allow_sha256: [\(String(repeating: "0", count: 64))]\n")
        let listed = try await AtomdProcess.run(["plugins", "--home", home.path, "--config", config, "--json"])
        #expect(listed.status == 2)
        let error = try #require(try json(listed.stdout).first?["error"] as? [String: Any])
        #expect((error["message"] as? String)?.contains("is not in the allowlist") == true)
    }

    @Test func aCrashingPluginFailsItsStepAndCompensationRuns() async throws {
        let home = try Home(["kv", "trouble"])
        try "mode=green\n".write(toFile: home.settings, atomically: true, encoding: .utf8)
        for crash in ["segfault", "abort"] {
            let result = try await home.setThen("{ id: crash, uses: trouble.\(crash) }")
            #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
            #expect(result.stdout.contains("crash (failed): the plugin host crashed (killed by signal"))
            #expect(result.stdout.contains(crash == "segfault" ? "(SIGSEGV)" : "(SIGABRT)"))
            #expect(result.stdout.contains("  set: reverted"))
            #expect(try String(contentsOfFile: home.settings, encoding: .utf8) == "mode=green\n")
        }
    }

    @Test func aHangingPluginIsKilledAtItsDeadline() async throws {
        let home = try Home(["kv", "trouble"])
        try home.config("plugins: { call_timeout: 1s }\n")
        let result = try await home.setThen("{ id: hang, uses: trouble.hang }")
        #expect(result.status == 1)
        #expect(result.stdout.contains("did not answer within its deadline and was killed"))
        #expect(result.stdout.contains("  set: reverted"))
        #expect(try String(contentsOfFile: home.settings, encoding: .utf8) == "")
    }

    @Test func aLeakingPluginMeetsItsMemoryLimit() async throws {
        let home = try Home(["kv", "trouble"])
        try home.config("plugins: { memory_limit: 64MiB }\n")
        let result = try await home.setThen("{ id: leak, uses: trouble.leak, with: { mb: 512 } }")
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("leak (failed): the plugin host crashed"))
        #expect(result.stdout.contains("plugin hosts may use 64 MiB (plugins.memory_limit)"))
        #expect(result.stdout.contains("  set: reverted"))
    }

    @Test func aTrustedPluginRunsInProcessWhenConfigured() async throws {
        let home = try Home(["kv"])
        try home.config("plugins:\n  isolation: { kv: in-process }\n")
        let listed = try await AtomdProcess.run(["plugins", "--home", home.path, "--json"])
        #expect(try json(listed.stdout).first?["isolation"] as? String == "in-process")
        let result = try await home.setThen("{ id: done, run: 'true' }")
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(try String(contentsOfFile: home.settings, encoding: .utf8) == "mode=blue\n")
    }

    @Test func relativePluginDirectoriesAreRelativeToTheConfigFile() async throws {
        let home = try PluginFixtures.directory("home")
        let elsewhere = try PluginFixtures.directory("config")
        try FileManager.default.moveItem(atPath: try PluginFixtures.pluginDirectory(["kv"]), toPath: elsewhere + "/mine")
        try "plugins: { directories: [mine] }\n".write(toFile: elsewhere + "/atomd.yaml", atomically: true, encoding: .utf8)
        let listed = try await AtomdProcess.run(["plugins", "--home", home, "--config", elsewhere + "/atomd.yaml", "--json"])
        #expect(listed.status == 0)
        #expect(try json(listed.stdout).first?["path"] as? String == elsewhere + "/mine/libkv.so")
    }

    @Test func aBadConfigurationStopsEveryCommandWithItsPlace() async throws {
        let home = try Home(["kv"])
        let config = try home.config("plugins:\n  isolation: { kv: sandboxed }\n")
        let listed = try await AtomdProcess.run(["plugins", "--home", home.path])
        #expect(listed.status == 2)
        #expect(listed.stderr.contains("\(config):2:20: error: isolation of 'kv' must be isolated or in-process, not 'sandboxed'"))
        let run = try await home.run("version: 1\nname: t\nsteps: [{ id: a, run: 'true' }]\n")
        #expect(run.status == 2)
        #expect(run.stderr.contains("\(config):2:20"))

        let missing = try await AtomdProcess.run(["plugins", "--home", home.path, "--config", home.path + "/nope.yaml"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("nope.yaml"))
    }
}
