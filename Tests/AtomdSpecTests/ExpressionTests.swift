import Testing
@testable import AtomdSpec

@Suite struct ExpressionTests {
    let evaluator = ExpressionEvaluator(contexts: [
        "vars": .object(["api": .string("http://127.0.0.1:8700"), "size": .integer(10), "zones": .array([.string("a"), .string("b")])]),
        "steps": .object(["web": .object(["status": .string("succeeded"), "outputs": .object(["id": .string("srv-1")])])]),
        "run": .object(["id": .string("r1"), "status": .string("running")]),
    ])

    func value(_ source: String) throws -> JSONValue {
        let root = try ExpressionParser.parse(source)
        return try evaluator.evaluate(Expression(source: source, root: root, location: .start))
    }

    @Test func propertyPathsAndIndexing() throws {
        #expect(try value("vars.api") == .string("http://127.0.0.1:8700"))
        #expect(try value("steps.web.outputs.id") == .string("srv-1"))
        #expect(try value("steps['web'].outputs['id']") == .string("srv-1"))
        #expect(try value("vars.zones[1]") == .string("b"))
        #expect(try value("vars.zones[5]") == .null)
        #expect(try value("vars.missing.deeper") == .null)
    }

    @Test func precedenceAndShortCircuit() throws {
        #expect(try value("true || false && false") == .bool(true))
        #expect(try value("(true || false) && false") == .bool(false))
        #expect(try value("!false && vars.size == 10") == .bool(true))
        #expect(try value("vars.size > 5 && vars.size <= 10") == .bool(true))
        // && and || yield an operand, not a boolean, as in GitHub Actions.
        #expect(try value("vars.missing || 'default'") == .string("default"))
        #expect(try value("vars.api && vars.size") == .integer(10))
    }

    @Test func comparisonsCoerceMixedTypesToNumbers() throws {
        #expect(try value("vars.size == '10'") == .bool(true))
        #expect(try value("null == 0") == .bool(true))
        #expect(try value("true == 1") == .bool(true))
        #expect(try value("'abc' == 'ABC'") == .bool(false))
        #expect(try value("'a' < 'b'") == .bool(true))
        #expect(try value("'x' < 1") == .bool(false))
        #expect(try value("-1.5 < 0") == .bool(true))
    }

    @Test func functions() throws {
        #expect(try value("contains(vars.zones, 'b')") == .bool(true))
        #expect(try value("contains(vars.api, '8700')") == .bool(true))
        #expect(try value("startsWith(vars.api, 'http://')") == .bool(true))
        #expect(try value("endsWith(vars.api, ':8700')") == .bool(true))
        #expect(try value("format('{0}/servers/{1} {{x}}', vars.api, steps.web.outputs.id)")
                == .string("http://127.0.0.1:8700/servers/srv-1 {x}"))
        #expect(try value("toJSON(vars.zones)") == .string("[\"a\",\"b\"]"))
        #expect(try value("fromJSON('{\"n\": 3, \"ok\": true}').n") == .integer(3))
        #expect(try value("fromJSON('[1, 2.5]')") == .array([.integer(1), .number(2.5)]))
        #expect(try value("success()") == .bool(true))
        #expect(try value("failure()") == .bool(false))
        #expect(try value("always()") == .bool(true))
    }

    @Test func statusFunctionsFollowTheRunStatus() throws {
        let failed = ExpressionEvaluator(contexts: ["run": .object(["status": .string("reverted")])])
        let root = try ExpressionParser.parse("failure() && !success()")
        #expect(try failed.evaluate(Expression(source: "", root: root, location: .start)) == .bool(true))
    }

    @Test func runtimeErrorsAreReported() {
        #expect(throws: EvaluationError.self) { try value("fromJSON('{broken')") }
        #expect(throws: EvaluationError.self) { try value("format('{1}', 'only one')") }
        #expect(throws: EvaluationError.self) { try value("format('{x}', 1)") }
    }

    @Test(arguments: [
        ("vars.api ==", 11, "expected a value"),
        ("vars.", 5, "expected a property name"),
        ("(true", 5, "expected ')'"),
        ("'open", 0, "unterminated string"),
        ("a = b", 2, "compare with '=='"),
        ("x @ y", 2, "unexpected character '@'"),
        ("true false", 5, "after the expression"),
        ("", 0, "empty expression"),
        ("\"text\"", 0, "single quotes"),
    ])
    func syntaxErrorsCarryTheirOffset(_ source: String, _ offset: Int, _ text: String) {
        do {
            _ = try ExpressionParser.parse(source)
            Issue.record("'\(source)' parsed")
        } catch {
            #expect(error.offset == offset)
            #expect(error.message.contains(text), "\(error.message)")
        }
    }

    @Test func propertyNamesMayStartWithDigitsAndHoldDashes() throws {
        let root = try ExpressionParser.parse("steps.1st-step.outputs.id")
        #expect(root.propertyPath?.names.map(\.0) == ["1st-step", "outputs", "id"])
    }

    @Test func templatesInterpolateAndKeepTypesOfSoleExpressions() throws {
        let loaded = try load(job(steps: """
              - id: a
                uses: cloud.attach
                with:
                  size: "${{ vars.size }}"
                  label: "disk-${{ vars.size }}GB"
                  list: ["${{ vars.size }}", 2]
            """, head: "vars: { size: 10 }\n"))
        guard case .plugin(let plugin) = loaded.steps[0].action else {
            Issue.record("expected a plugin step")
            return
        }
        let rendered = try ExpressionEvaluator(contexts: ["vars": .object(loaded.vars)]).render(plugin.with)
        #expect(rendered == .object(["size": .integer(10), "label": .string("disk-10GB"), "list": .array([.integer(10), .integer(2)])]))
    }

    @Test func expressionsInsideStringsMayContainBraces() throws {
        let loaded = try load(job(steps: "  - id: a\n    run: echo ${{ format('{{a}}') }}\n"))
        guard case .run(let shell) = loaded.steps[0].action else {
            Issue.record("expected a run step")
            return
        }
        #expect(shell.script.expressions.map(\.source) == ["format('{{a}}')"])
    }

    @Test func expressionErrorsInBlockScalarsPointIntoTheBlock() {
        let found = problems(job(steps: """
              - id: a
                run: |
                  echo one
                  echo ${{ vars.nope }}
            """))
        #expect(found.map(\.location) == [SourceLocation(line: 7, column: 21)])
    }

    @Test func theNthExpressionOfAQuotedScalarIsLocatedExactly() {
        let found = problems(job(steps: "  - id: a\n    run: \"echo ${{ vars.a }} ${{ vars.a }} ${{ vars.b }}\"\n", head: "vars: { a: 1 }\n"))
        // `    run: "echo ` is 15 characters; each `${{ vars.a }} ` 14 more; `vars.` 5 after the opener's `${{ `.
        #expect(found.map(\.location) == [SourceLocation(line: 6, column: 16 + 28 + 4 + 5)])
        #expect(found.map(\.message) == ["unknown variable 'b'"])
    }
}
