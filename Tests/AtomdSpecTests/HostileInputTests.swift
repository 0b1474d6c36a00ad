import Foundation
import Testing
@testable import AtomdSpec

/// Files built to hurt the parser: each must be refused with a clear error,
/// before anything large is built.
@Suite struct HostileInputTests {
    /// The classic billion laughs: nine levels, each repeating the previous ten times.
    static func aliasBomb(levels: Int = 9) -> String {
        var yaml = "version: 1\nname: bomb\nl0: &l0 [lol]\n"
        for level in 1...levels {
            let previous = Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ")
            yaml += "l\(level): &l\(level) [\(previous)]\n"
        }
        return yaml + "steps: [{id: a, run: echo}]\n"
    }

    /// 150,000 nested brace groups around one value (a 750 KB script): the
    /// script's reading is linear, so the job loads; it took about an hour
    /// when every word worked out again where its command starts.
    @Test(.timeLimit(.minutes(1))) func deeplyNestedBraceGroupsLoadAndTheirValueIsStillJudged() throws {
        let depth = 150_000
        let script = String(repeating: "{ ", count: depth) + "echo ${{ vars.x }}; " + String(repeating: "}; ", count: depth)
        let text = "version: 1\nname: n\nvars: { x: a }\nsteps:\n  - { id: a, run: \"\(script)\" }\n"
        let job = try JobLoader.load(bytes: Array(text.utf8), file: "nested.yaml")
        #expect(job.allSteps.count == 1)
        // The same depth around a value bash would run as code is refused.
        let code = String(repeating: "{ ", count: depth) + "eval ${{ vars.x }}; " + String(repeating: "}; ", count: depth)
        #expect(throws: SpecErrors.self) {
            try JobLoader.load(bytes: Array("version: 1\nname: n\nvars: { x: a }\nsteps:\n  - { id: a, run: \"\(code)\" }\n".utf8), file: "nested.yaml")
        }
    }

    @Test func billionLaughsIsRefusedAtTheAliasThatCrossesTheLimit() {
        let found = problems(Self.aliasBomb())
        #expect(found.count == 1)
        #expect(found.first?.message.contains("expands to more than 100000 nodes") == true)
        #expect(found.first?.hint?.contains("alias bomb") == true)
        // Level 5 has 1 + 10 * (1 + ... ) nodes > 100,000: the error points into that line.
        #expect((found.first?.location.line ?? 0) <= 9)
    }

    @Test func aliasesUsedAsMappingKeysAreRefusedWithoutExpansion() {
        var yaml = "version: 1\nname: bomb\na0: &a0 {x: y}\n"
        for level in 1...12 {
            yaml += "a\(level): &a\(level) {? *a\(level - 1) : 1, ? [*a\(level - 1)] : 2}\n"
        }
        let found = problems(yaml + "steps: [{id: a, run: echo}]\n")
        #expect(found.count == 1)
        #expect(found.first?.message.contains("a mapping key must be a plain string") == true)
        #expect(found.first?.location == SourceLocation(line: 4, column: 12))
    }

    @Test func smallAliasesStillWork() throws {
        let loaded = try load("""
            version: 1
            name: t
            vars: { base: &b "http://127.0.0.1:8700" }
            steps:
              - id: a
                http: { url: *b }
            """)
        guard case .http(let http) = loaded.steps[0].action else {
            Issue.record("expected an http step")
            return
        }
        #expect(http.url.literalText == "http://127.0.0.1:8700")
    }

    @Test func nestingDeeperThan64IsRefused() {
        let deep = String(repeating: "[", count: 70) + String(repeating: "]", count: 70)
        let found = problems("version: 1\nname: t\nx: \(deep)\nsteps: [{id: a, run: echo}]\n")
        #expect(found.first?.message == "nesting is deeper than 64 levels")
        // The root mapping is level 1, so the 64th '[' is the first too deep.
        #expect(found.first?.location == SourceLocation(line: 3, column: 4 + 63))
    }

    @Test func nestingOf64IsAccepted() {
        let limits = YAMLLimits(maxDepth: 64)
        // The root mapping and 'vars' are two levels; 62 lists make 64.
        let deep = String(repeating: "[", count: 62) + String(repeating: "]", count: 62)
        let found = problems("version: 1\nname: t\nvars: { x: \(deep) }\nsteps: [{id: a, run: echo}]\n", limits: limits)
        #expect(found.allSatisfy { !$0.message.contains("nesting") })
    }

    @Test func tooManyNodesWithoutAliasesIsRefused() {
        let items = Array(repeating: "1", count: 100_001).joined(separator: ",")
        let found = problems("version: 1\nname: t\nvars: { x: [\(items)] }\nsteps: [{id: a, run: echo}]\n",
                             limits: YAMLLimits(maxBytes: 4 << 20))
        #expect(found.first?.message.contains("more than 100000 nodes") == true)
    }

    @Test func oversizedFileIsRefusedBeforeParsing() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("big.yaml")
        // Valid YAML all through: only the size is wrong.
        let padding = String(repeating: "# padding line of a large file\n", count: 40_000)
        try ("version: 1\nname: t\nsteps: [{id: a, run: echo}]\n" + padding).write(to: file, atomically: true, encoding: .utf8)
        do {
            _ = try JobLoader.load(path: file.path)
            Issue.record("a file over 1 MiB loaded")
        } catch {
            #expect(error.diagnostics.count == 1)
            #expect(error.diagnostics[0].message.contains("job files are limited to 1048576 bytes"))
            #expect(error.diagnostics[0].file == file.path)
        }
    }

    @Test func inMemoryOversizeIsRefusedToo() {
        let bytes = [UInt8](repeating: UInt8(ascii: " "), count: (1 << 20) + 1)
        #expect(throws: SpecErrors.self) { try JobLoader.load(bytes: bytes, file: "big.yaml") }
    }

    @Test func directoriesAndMissingFilesAreClearErrors() {
        for (path, text) in [("/tmp", "not a regular file"), ("/nonexistent/job.yaml", "cannot open the file")] {
            do {
                _ = try JobLoader.load(path: path)
                Issue.record("\(path) loaded")
            } catch {
                #expect(error.diagnostics.first?.message.contains(text) == true, "\(path): \(error)")
            }
        }
    }

    @Test func invalidUTF8IsAParseError() {
        var bytes = Array("version: 1\nname: t\nsteps: [{id: a, run: 'echo ".utf8)
        bytes += [0xFF, 0xFE]
        bytes += Array("'}]\n".utf8)
        do {
            _ = try JobLoader.load(bytes: bytes, file: "bad.yaml")
            Issue.record("invalid UTF-8 loaded")
        } catch {
            #expect(error.diagnostics.first?.message.contains("invalid YAML") == true)
        }
    }

    @Test func overlongExpressionIsRefused() {
        let long = Array(repeating: "true", count: 2000).joined(separator: " && ")
        let found = problems(job(steps: "  - id: a\n    if: \(long)\n    run: echo\n"))
        #expect(found.first?.message.contains("longer than 4096 characters") == true)
    }

    @Test func deeplyNestedExpressionIsRefusedWithoutCrashing() {
        let nested = String(repeating: "(", count: 500) + "true" + String(repeating: ")", count: 500)
        let found = problems(job(steps: "  - id: a\n    if: \(nested)\n    run: echo\n"))
        #expect(found.first?.message.contains("nested deeper than 32 levels") == true)
    }
}
