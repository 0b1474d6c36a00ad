import Foundation
import Testing

@Suite struct ValidateCommandTests {
    static let examples = ["launch-and-attach", "deploy-app", "zone-fallback", "parallel-prepare"].map { "etc/jobs/\($0).yaml" }

    @Test func examplesAreValid() throws {
        let result = try AtomdProcess.run(["validate"] + Self.examples)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        for file in Self.examples {
            #expect(result.stdout.contains("\(file): ok (job "))
        }
    }

    @Test func problemsArePrintedAsFileLineColumnAndExitIs2() throws {
        let bad = "Tests/AtomdSpecTests/Fixtures/invalid/several-problems.yaml"
        let result = try AtomdProcess.run(["validate", Self.examples[0], bad])
        #expect(result.status == 2)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("\(bad):6:5: error: unknown key 'tiemout' in a step; did you mean 'timeout'?"))
        #expect(lines.contains { $0.hasPrefix("\(bad):9:15: error: 'converge' is 'yes'") })
        #expect(lines.last == "1 of 2 files invalid, 2 problem(s)")
    }

    @Test func jsonReportListsEveryFile() throws {
        let bad = "Tests/AtomdSpecTests/Fixtures/invalid/needs-cycle.yaml"
        let result = try AtomdProcess.run(["validate", "--json", Self.examples[1], bad])
        #expect(result.status == 2)
        struct Report: Decodable {
            struct File: Decodable {
                struct Problem: Decodable { var line: Int; var column: Int; var message: String; var hint: String? }
                var file: String; var valid: Bool; var job: String?; var steps: Int?; var errors: [Problem]
            }
            var valid: Bool
            var files: [File]
        }
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        #expect(!report.valid)
        #expect(report.files.map(\.valid) == [true, false])
        #expect(report.files[0].job == "deploy-app" && report.files[0].steps == 10)
        let problem = try #require(report.files[1].errors.first)
        #expect((problem.line, problem.column) == (8, 11))
        #expect(problem.message.contains("a -> c -> b -> a"))
        #expect(problem.hint == "remove one of these needs")
    }

    @Test func anAliasBombIsRefusedByTheCLI() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-bomb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var yaml = "version: 1\nname: bomb\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
        for (index, name) in "bcdefghij".enumerated() {
            let previous = Array("abcdefghij")[index]
            yaml += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 10).joined(separator: ", ") + "]\n"
        }
        let file = directory.appendingPathComponent("bomb.yaml")
        try (yaml + "steps: [{id: s, run: echo}]\n").write(to: file, atomically: true, encoding: .utf8)
        let result = try AtomdProcess.run(["validate", file.path])
        #expect(result.status == 2)
        #expect(result.stdout.contains("expands to more than 100000 nodes"))
    }

    @Test func usageErrorsExitWith2() throws {
        let missing = try AtomdProcess.run(["validate"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("Usage: atomd validate"))
        let unknown = try AtomdProcess.run(["frobnicate"])
        #expect(unknown.status == 2)
    }

    @Test func helpReadsLikeAManual() throws {
        let help = try AtomdProcess.run(["--help"])
        #expect(help.status == 0)
        for text in ["Exit codes:", "validate", "plan", "compensation failed"] {
            #expect(help.stdout.contains(text), "help lacks \(text)")
        }
        let validate = try AtomdProcess.run(["help", "validate"])
        #expect(validate.stdout.contains("FILE:LINE:COLUMN: error: MESSAGE"))
    }
}
