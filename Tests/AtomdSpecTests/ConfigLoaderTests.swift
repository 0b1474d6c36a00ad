import Foundation
import Testing
@testable import AtomdSpec

/// `atomd.yaml`: every key read as typed, every mistake refused with its place.
@Suite struct ConfigLoaderTests {
    func config(_ yaml: String) throws(SpecErrors) -> AgentConfig {
        try ConfigLoader.load(bytes: Array(yaml.utf8), file: "atomd.yaml")
    }

    func problems(_ yaml: String) -> [Diagnostic] {
        do {
            _ = try config(yaml)
            Issue.record("accepted: \(yaml)")
            return []
        } catch {
            return error.diagnostics
        }
    }

    @Test func everyPluginKeyIsRead() throws {
        let digest = String(repeating: "aB", count: 32)
        let loaded = try config("""
            plugins:
              directories: [plugins, /usr/lib/atomd/plugins]
              isolation: { kv: in-process, files: isolated }
              allow_sha256: [\(digest)]
              call_timeout: 2m
              cancel_grace: 500ms
              memory_limit: 512MiB
              idle_hosts: 4
            """)
        let plugins = loaded.plugins
        #expect(loaded.file == "atomd.yaml")
        #expect(plugins.directories == ["plugins", "/usr/lib/atomd/plugins"])
        #expect(plugins.inProcess == ["kv"])
        #expect(plugins.allowSHA256 == [digest.lowercased()])
        #expect(plugins.callTimeout == .seconds(120))
        #expect(plugins.cancelGrace == .milliseconds(500))
        #expect(plugins.memoryLimit == 512 << 20)
        #expect(plugins.idleHosts == 4)
    }

    @Test func anEmptyFileKeepsEveryDefault() throws {
        #expect(try config("") == AgentConfig(file: "atomd.yaml"))
        #expect(try config("# nothing set yet\n\n") == AgentConfig(file: "atomd.yaml"))
        #expect(try config("plugins: { memory_limit: unlimited }").plugins.memoryLimit == 0)
    }

    @Test func unknownKeysAreRefusedWithAHint() {
        let found = problems("plugins:\n  directorys: [x]\n")
        #expect(found.count == 1)
        #expect(found.first?.location == SourceLocation(line: 2, column: 3))
        #expect(found.first?.hint?.contains("directories") == true)
        #expect(problems("plugin: {}\n").first?.hint?.contains("plugins") == true)
    }

    @Test func badValuesAreRefusedWhereTheyAre() {
        let isolation = problems("plugins:\n  isolation: { kv: sandboxed }\n")
        #expect(isolation.first?.message == "isolation of 'kv' must be isolated or in-process, not 'sandboxed'")
        #expect(isolation.first?.location == SourceLocation(line: 2, column: 20))

        #expect(problems("plugins: { isolation: in-process }").first?.hint == "for example isolation: { kv: in-process }")

        let digest = problems("plugins:\n  allow_sha256:\n    - abc\n")
        #expect(digest.first?.message == "'abc' is not a SHA-256 digest")
        #expect(digest.first?.location == SourceLocation(line: 3, column: 7))

        for size in ["512", "1MiB", "0GiB", "-1GiB", "lots", "99999999999GiB"] {
            let found = problems("plugins: { memory_limit: \(size) }")
            #expect(found.first?.message.contains("at least 16MiB") == true, "\(size)")
        }
        #expect(problems("plugins: { call_timeout: 30 }").first?.hint == "write 30s, 30m or 30ms")
        #expect(problems("plugins: { idle_hosts: 1000 }").first?.message.contains("between 0 and 64") == true)
    }

    @Test func everyMistakeIsReportedAtOnce() {
        let found = problems("plugins:\n  idle_hosts: x\n  cancel_grace: soon\n  extra: 1\n")
        #expect(found.map(\.location.line) == [2, 3, 4])
    }

    @Test func hostileFilesAreRefused() {
        #expect(problems("plugins: [a, b]").first?.message.contains("plugins") == true)
        #expect(!problems("plugins: &a { directories: *a }").isEmpty)
        #expect(!problems("\u{0}\u{1}binary").isEmpty)
        let huge = "plugins:\n  directories:\n" + String(repeating: "    - " + String(repeating: "d", count: 100) + "\n", count: 200_000)
        #expect(problems(huge).first?.message.contains("limited to 1048576 bytes") == true)
    }

    @Test func aMissingFileNamesThePath() {
        do {
            _ = try ConfigLoader.load(path: "/nonexistent/atomd.yaml")
            Issue.record("a missing file loaded")
        } catch {
            #expect(error.description.contains("/nonexistent/atomd.yaml"))
        }
    }
}
