import Foundation
import Testing

/// Every `--json` of the CLI speaks one dialect: snake_case keys and RFC
/// 3339 times. Keys inside values the job or its atoms chose (inputs,
/// outputs, variables, state, environment) are theirs and not checked.
@Suite(.timeLimit(.minutes(2))) struct JSONConventionTests {
    static let userData: Set<String> = ["input", "outputs", "vars", "state", "data", "env", "with", "before", "after", "details",
                                        "response", "schema", "input_schema"]

    /// The keys that are not snake_case, and the `*_at` values that are not RFC 3339 times.
    static func offences(_ value: Any, _ found: inout [String]) {
        if let object = value as? [String: Any] {
            for (key, member) in object {
                if key.contains(where: \.isUppercase) || key.contains("-") { found.append("key \(key)") }
                if key.hasSuffix("_at"), !(member is NSNull),
                   (member as? String).flatMap({ try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse($0) }) == nil {
                    found.append("time \(key): \(member)")
                }
                if !userData.contains(key) { offences(member, &found) }
            }
        } else if let array = value as? [Any] {
            for member in array { offences(member, &found) }
        }
    }

    /// One JSON document, or JSON lines.
    static func documents(_ text: String) throws -> [Any] {
        if let whole = try? JSONSerialization.jsonObject(with: Data(text.utf8)) { return [whole] }
        return try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) }
    }

    @Test func everyJSONOutputHasSnakeCaseKeysAndRFC3339Times() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-json-\(UUID().uuidString)").path
        let job = try AtomdProcess.temporaryJob("""
            version: 1
            name: conventions
            rehearse: allowed
            vars: { someValue: 1 }
            steps:
              - { id: a, run: "echo ${{ vars.someValue }}", check: "false", revert: "true" }
              - { id: b, uses: test.fail, with: { always: true } }
            """)
        let run = try await AtomdProcess.run(["run", job, "--json", "--home", home])
        #expect(run.status == 1, "\(run.stderr)")
        let runID = try #require((try Self.documents(run.stdout).last as? [String: Any])?["run_id"] as? String, "\(run.stdout)")
        let commands: [[String]] = [
            ["validate", job, "--json"], ["plan", job, "--json"], ["runs", "--json", "--home", home],
            ["show", runID, "--json", "--home", home], ["logs", runID, "--json", "--home", home],
            ["rehearse", job, "--only", "a", "--json", "--home", home], ["plugins", "--json", "--home", home],
        ]
        var found: [String] = []
        Self.offences(try Self.documents(run.stdout), &found)
        for command in commands {
            let result = try await AtomdProcess.run(command)
            var offences: [String] = []
            Self.offences(try Self.documents(result.stdout), &offences)
            found += offences.map { "\(command[0]): \($0)" }
        }
        #expect(found.isEmpty, "\(found)")
    }
}
