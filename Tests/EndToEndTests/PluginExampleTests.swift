import AtomdTestSupport
import Foundation
import Testing

/// The README's "Writing a plugin" examples, taken from the README itself,
/// built the way it says, and run with the real `atomd`.
@Suite struct PluginExampleTests {
    /// The code block after the README's `<!-- plugin-example: LANGUAGE` marker.
    static func example(_ language: String) throws -> String {
        let readme = try String(contentsOf: AtomdProcess.repository.appendingPathComponent("README.md"), encoding: .utf8)
        let marker = try #require(readme.range(of: "<!-- plugin-example: \(language)"), "no \(language) example in README.md")
        let rest = readme[marker.upperBound...]
        let fence = try #require(rest.range(of: "```\(language)\n"))
        let end = try #require(rest[fence.upperBound...].range(of: "\n```\n"))
        return String(rest[fence.upperBound..<end.lowerBound]) + "\n"
    }

    /// A home with the example plugin built into its plugins directory.
    static func home(building language: String, as name: String) async throws -> String {
        let home = try PluginFixtures.directory("example")
        let plugins = home + "/plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        let library = plugins + "/" + name
        if language == "c" {
            try await PluginFixtures.compile(source: try example("c"), output: library)
        } else {
            try await PluginFixtures.compileSwift(source: try example("swift"), output: library)
        }
        chmod(library, 0o755)
        for leftover in try FileManager.default.contentsOfDirectory(atPath: plugins) where leftover != name {
            try FileManager.default.removeItem(atPath: plugins + "/" + leftover)
        }
        return home
    }

    static func run(_ yaml: String, home: String) async throws -> AtomdProcess.Result {
        try await AtomdProcess.run(["run", try AtomdProcess.temporaryJob(yaml), "--home", home])
    }

    @Test func theCExampleBuildsWithCCAndRunsItsWholeContract() async throws {
        let home = try await Self.home(building: "c", as: "marker.so")
        let inspected = try await AtomdProcess.run(["plugins", "inspect", "marker", "--home", home])
        #expect(inspected.status == 0, "\(inspected.stdout)\(inspected.stderr)")
        #expect(inspected.stdout.contains("marker.touch [revert, check]"))
        #expect(inspected.stdout.contains("\"required\" : [\n        \"path\""))

        let flag = home + "/flag"
        let made = try await Self.run("""
            version: 1
            name: mark
            steps: [{ id: mark, uses: marker.touch, with: { path: \(flag) } }]
            """, home: home)
        #expect(made.status == 0, "\(made.stdout)\(made.stderr)")
        #expect(FileManager.default.fileExists(atPath: flag))

        // A second touch of an existing file is refused as changing nothing:
        // compensation must not remove a file the step never made.
        try FileManager.default.removeItem(atPath: flag)
        let refused = try await Self.run("""
            version: 1
            name: twice
            steps:
              - { id: mark, uses: marker.touch, with: { path: \(flag) } }
              - { id: again, uses: marker.touch, with: { path: \(flag) } }
            """, home: home)
        #expect(refused.status == 1)
        #expect(refused.stdout.contains("again (failed): File exists"))
        #expect(refused.stdout.contains("  again: nothing to undo (the failed call changed nothing)"))
        #expect(refused.stdout.contains("  mark: reverted"))
        #expect(!FileManager.default.fileExists(atPath: flag))
    }

    @Test(arguments: ["isolated", "in-process"])
    func theSwiftExampleBuildsAndRunsItsWholeContract(_ isolation: String) async throws {
        let home = try await Self.home(building: "swift", as: "libgreeting.so")
        try "plugins: { isolation: { greeting: \(isolation) } }\n".write(toFile: home + "/atomd.yaml", atomically: true, encoding: .utf8)
        let greeting = home + "/greeting"
        let job = """
            version: 1
            name: greet
            vars: { fail: "no" }
            steps:
              - { id: greet, uses: greeting.write, with: { path: \(greeting), name: operator } }
              - { id: fail, run: 'test ${{ vars.fail }} = no' }
            """
        let failed = try await AtomdProcess.run(["run", try AtomdProcess.temporaryJob(job), "--home", home, "--var", "fail=yes"])
        #expect(failed.status == 1, "\(failed.stdout)\(failed.stderr)")
        #expect(failed.stdout.contains("  greet: reverted"))
        #expect(!FileManager.default.fileExists(atPath: greeting))

        let made = try await Self.run(job, home: home)
        #expect(made.status == 0, "\(made.stdout)\(made.stderr)")
        #expect(try String(contentsOfFile: greeting, encoding: .utf8) == "hello, operator\n")
        let again = try await Self.run(job, home: home)
        #expect(again.status == 1)
        #expect(again.stdout.contains("exists already"))
        #expect(try String(contentsOfFile: greeting, encoding: .utf8) == "hello, operator\n")
    }

    @Test func theREADMEsTryOutJobUsesAnAtomTheExampleDefines() throws {
        let readme = try String(contentsOf: AtomdProcess.repository.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains("uses: marker.touch"))
        #expect(try Self.example("c").contains(".name = \"touch\""))
        #expect(try Self.example("c").contains(".name = \"marker\""))
    }
}
