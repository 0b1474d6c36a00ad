import Foundation
import Testing
@testable import AtomdSpec

/// Every file in Fixtures/invalid ends with `# expect: LINE:COL: TEXT` lines;
/// each must match a reported diagnostic at exactly that position whose
/// message contains TEXT.
@Suite struct InvalidJobCorpusTests {
    struct Expectation: CustomStringConvertible {
        var location: SourceLocation
        var text: String
        var description: String { "\(location): \(text)" }
    }

    static let fixtures = Paths.yamlFiles(in: Paths.invalidFixtures)

    static func expectations(in text: String) -> [Expectation] {
        text.split(separator: "\n").compactMap { line -> Expectation? in
            guard line.hasPrefix("# expect: ") else { return nil }
            let parts = line.dropFirst("# expect: ".count).split(separator: ":", maxSplits: 2)
            guard parts.count == 3, let line = Int(parts[0]), let column = Int(parts[1]) else { return nil }
            return Expectation(location: SourceLocation(line: line, column: column), text: parts[2].trimmingCharacters(in: .whitespaces))
        }
    }

    @Test func corpusIsLargeEnough() {
        #expect(Self.fixtures.count >= 40)
    }

    @Test(arguments: fixtures)
    func fixtureIsRejectedAtTheRightPlace(_ file: URL) throws {
        let text = try String(contentsOf: file, encoding: .utf8)
        let expected = Self.expectations(in: text)
        #expect(!expected.isEmpty, "fixture \(file.lastPathComponent) states no expectation")
        let reported: [Diagnostic]
        do {
            _ = try JobLoader.load(path: file.path)
            Issue.record("\(file.lastPathComponent) loaded, but it is invalid")
            return
        } catch {
            reported = error.diagnostics
        }
        for expectation in expected {
            let match = reported.contains { $0.location == expectation.location && $0.fullMessage.contains(expectation.text) }
            #expect(match, "\(file.lastPathComponent): expected \(expectation), got \(reported.map(\.description))")
        }
        for diagnostic in reported {
            #expect(diagnostic.file == file.path)
        }
    }
}
