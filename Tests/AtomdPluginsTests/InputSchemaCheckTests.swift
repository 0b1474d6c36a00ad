import AtomdPlugins
@testable import AtomdSpec
import Testing

/// `with:` against an atom's input schema, as `atomd validate` checks it.
@Suite struct InputSchemaCheckTests {
    static let schema: JSONValue = .object([
        "type": .string("object"),
        "additionalProperties": .bool(false),
        "required": .array([.string("path")]),
        "properties": .object([
            "path": .object(["type": .string("string"), "minLength": .integer(1)]),
            "mode": .object(["enum": .array([.string("copy"), .string("link")])]),
            "size": .object(["type": .string("integer"), "minimum": .integer(1), "maximum": .integer(100)]),
            "tags": .object(["type": .string("array"), "items": .object(["type": .string("string")])]),
        ]),
    ])

    /// `with:` as a job writes it, so expressions are real templates.
    func with(_ yaml: String) throws -> ValueTemplate {
        let job = try JobLoader.load(bytes: Array("version: 1\nname: t\nvars: { v: 1 }\nsteps:\n  - id: a\n    uses: p.a\n    with: \(yaml)\n".utf8),
                                     file: "t.yaml")
        guard case .plugin(let use) = job.steps[0].action else { throw SpecErrors([]) }
        return use.with
    }

    @Test func aFittingInputHasNoProblems() throws {
        #expect(InputSchemaCheck.problems(try with("{ path: /a, mode: copy, size: 3, tags: [x, y] }"), schema: Self.schema) == [])
    }

    @Test func everyProblemIsNamedByItsPath() throws {
        let problems = InputSchemaCheck.problems(try with("{ mode: move, size: 1000, tags: [x, 2], colour: red }"), schema: Self.schema)
        #expect(problems == [
            "with needs 'path'",
            "with has no 'colour'",
            "with.mode is \"move\", not one of \"copy\", \"link\"",
            "with.size is 1000, more than the maximum 100",
            "with.tags[1] must be string, not a number",
        ])
    }

    @Test func valuesComputedByExpressionsAreLeftToRunTime() throws {
        #expect(InputSchemaCheck.problems(try with("{ path: \"${{ vars.v }}\", size: \"${{ vars.v }}\" }"), schema: Self.schema) == [])
    }

    @Test func aWrongTypeIsOneProblemNotOnePerMember() throws {
        let nested: JSONValue = .object(["properties": .object(["tags": Self.schema])])
        #expect(InputSchemaCheck.problems(try with("{ tags: 12 }"), schema: nested) == ["with.tags must be object, not a number"])
    }

    @Test func schemasThatAreNotObjectsCheckNothing() throws {
        #expect(InputSchemaCheck.problems(try with("{ anything: 1 }"), schema: .bool(true)) == [])
    }
}
