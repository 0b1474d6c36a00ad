import AtomdTestSupport
import Foundation
import Testing
@testable import AtomdSpec

/// etc/schema/job.schema.json is checked with python-jsonschema, the
/// reference Draft 2020-12 implementation (installed by scripts/test).
@Suite struct SchemaTests {
    /// Invalid fixtures whose problem is structural, so the schema must see it
    /// too. (Reference, ordering and cycle errors are beyond a JSON Schema.)
    static let structurallyInvalid = [
        "unknown-top-level-key", "unknown-step-key", "missing-version", "unsupported-version", "missing-steps",
        "empty-steps", "step-without-id", "uppercase-step-id", "step-without-action", "step-with-two-actions",
        "yes-as-boolean", "on-as-boolean", "duration-without-unit", "duration-in-words", "retry-zero-attempts",
        "retry-backoff-text", "retry-jitter-range", "retry-on-unknown", "on-failure-typo", "group-mode-typo",
        "http-method-lowercase", "http-without-url", "http-json-and-body", "absent-outside-check", "uses-without-atom",
        "with-without-uses", "secret-env-and-file", "secret-relative-file", "secret-inline-value", "group-with-revert",
        "group-retry-attempts", "job-name-with-spaces", "empty-revert", "bad-env-name", "for-each-empty",
        "status-code-range", "relative-shell", "step-is-a-list", "group-in-revert", "version-as-text",
    ]

    static func instance(_ file: URL) throws -> JSONValue {
        let bytes = try [UInt8](Data(contentsOf: file))
        return try JobLoader.parseYAML(bytes: bytes, file: file.path).jsonValue
    }

    static func schemaErrors(_ instances: [String: JSONValue]) async throws -> [String: [String]] {
        let request = JSONValue.object([
            "schema": .string(Paths.schema.path),
            "instances": .object(instances),
        ])
        let script = Paths.repository.appendingPathComponent("Tests/AtomdSpecTests/Fixtures/check_schema.py").path
        // Python and jsonschema take a while to start: waited for off the pool.
        let (status, data, stderr) = try await offThePool {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script]
            let input = Pipe(), output = Pipe(), errors = Pipe()
            process.standardInput = input
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            input.fileHandleForWriting.write(Data(request.json.utf8))
            try input.fileHandleForWriting.close()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, data, stderr)
        }
        try #require(status == 0, "check_schema.py failed (is python3-jsonschema installed? run scripts/test): \(stderr)")
        return try JSONDecoder().decode([String: [String]].self, from: data)
    }

    @Test func schemaAcceptsEveryExampleJob() async throws {
        var instances: [String: JSONValue] = [:]
        for file in Paths.yamlFiles(in: Paths.exampleJobs) {
            instances[file.lastPathComponent] = try Self.instance(file)
        }
        #expect(instances.count >= 4)
        let result = try await Self.schemaErrors(instances)
        for (name, errors) in result.sorted(by: { $0.key < $1.key }) {
            #expect(errors.isEmpty, "\(name): \(errors)")
        }
    }

    @Test func schemaRejectsStructurallyInvalidJobs() async throws {
        var instances: [String: JSONValue] = [:]
        for name in Self.structurallyInvalid {
            instances[name] = try Self.instance(Paths.invalidFixtures.appendingPathComponent("\(name).yaml"))
        }
        let result = try await Self.schemaErrors(instances)
        #expect(result.count == Self.structurallyInvalid.count)
        for (name, errors) in result.sorted(by: { $0.key < $1.key }) {
            #expect(!errors.isEmpty, "the schema accepts \(name).yaml")
        }
    }

    @Test func schemaAcceptsAJobUsingEveryField() async throws {
        let everything = try Self.instance(Paths.repository.appendingPathComponent("Tests/AtomdSpecTests/Fixtures/every-field.yaml"))
        _ = try JobLoader.load(path: Paths.repository.appendingPathComponent("Tests/AtomdSpecTests/Fixtures/every-field.yaml").path)
        #expect(try await Self.schemaErrors(["every-field": everything])["every-field"] == [])
    }
}
