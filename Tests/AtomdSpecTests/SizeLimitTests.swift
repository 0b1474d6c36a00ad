import Testing
@testable import AtomdSpec

/// Issue 31: expressions cannot amplify a value past ExpressionLimits, at
/// validation when the sizes are known, at evaluation otherwise.
@Suite struct SizeLimitTests {
    static let big = String(repeating: "x", count: 900_000)
    /// 1,300 placeholders: 3,900 characters, under the 4,096 of an expression.
    static let amplifier = "format('" + String(repeating: "{0}", count: 1300) + "', vars.big)"

    func evaluate(_ source: String, vars: [String: JSONValue] = ["big": .string(big)]) throws(EvaluationError) -> JSONValue {
        let evaluator = ExpressionEvaluator(contexts: ["vars": .object(vars)])
        let root: ExpressionNode
        do { root = try ExpressionParser.parse(source) } catch { throw EvaluationError(message: "parse: \(error)") }
        return try evaluator.evaluate(Expression(source: source, root: root, location: .start))
    }

    func template(_ text: String) throws -> Template {
        guard case .success(let pieces) = TemplateParser.parse(text) else { throw EvaluationError(message: "bad template") }
        return Template(parts: pieces.map { piece in
            switch piece {
            case .literal(let literal): .literal(literal)
            case .expression(_, _, let source, let root): .expression(Expression(source: source, root: root, location: .start))
            }
        }, location: .start)
    }

    @Test func formatStopsAtTheLimitInsteadOfAllocatingGigabytes() throws {
        let error = #expect(throws: EvaluationError.self) { try evaluate(Self.amplifier) }
        #expect(error?.message.contains("1 MiB") == true, "\(error?.message ?? "")")
        // Up to the limit it works: one copy fits.
        #expect(try evaluate("format('{0}', vars.big)") == .string(Self.big))
    }

    @Test func toJSONContainsAndIndexingMeasureBeforeBuilding() throws {
        let many: JSONValue = .array(Array(repeating: .string(String(repeating: "y", count: 300_000)), count: 4))
        #expect(throws: EvaluationError.self) { try evaluate("toJSON(vars.many)", vars: ["many": many]) }
        #expect(throws: EvaluationError.self) { try evaluate("contains(vars.many, 'z')", vars: ["many": .object(["a": many])]) }
        #expect(throws: EvaluationError.self) { try evaluate("format('{0}', vars.many)", vars: ["many": many]) }
        // Escapes count too: 300,000 newlines are 600,000 bytes of JSON... times two.
        let newlines = JSONValue.array([.string(String(repeating: "\n", count: 300_000)), .string(String(repeating: "\n", count: 300_000))])
        #expect(throws: EvaluationError.self) { try evaluate("toJSON(vars.n)", vars: ["n": newlines]) }
        // A whole object as a result is measured, not copied.
        #expect(throws: EvaluationError.self) { try evaluate("vars.many", vars: ["many": many]) }
    }

    @Test func templatesAndValuesStopAtTheirLimits() throws {
        let evaluator = ExpressionEvaluator(contexts: ["vars": .object(["big": .string(Self.big)])])
        let twice = try template("${{ vars.big }}-${{ vars.big }}")
        let error = #expect(throws: EvaluationError.self) { try evaluator.renderString(twice) }
        #expect(error?.message.contains("1 MiB") == true)
        #expect(try evaluator.renderString(try template("a ${{ vars.big }}")).utf8.count == 900_002)
        // Five values of 900 KB: over the 4 MiB of a step's input.
        let sole = try template("${{ vars.big }}")
        let body = ValueTemplate.object(Dictionary(uniqueKeysWithValues: (0..<5).map { ("k\($0)", ValueTemplate.string(sole)) }))
        let bodyError = #expect(throws: EvaluationError.self) { try evaluator.render(body) }
        #expect(bodyError?.message.contains("4 MiB") == true)
        let four = ValueTemplate.array(Array(repeating: .string(sole), count: 4))
        #expect(try evaluator.render(four).jsonSize(upTo: .max) > 3_600_000)
    }

    /// The job of the incident: refused at validation, with the expression's line and column.
    @Test func validationRefusesTheAmplificationWithItsPosition() throws {
        let yaml = """
            version: 1
            name: flood
            vars:
              big: "\(Self.big)"
            env:
              HUGE: "${{ \(Self.amplifier) }}"
            steps:
              - { id: a, run: "true" }
            """
        let error = #expect(throws: SpecErrors.self) { try JobLoader.load(bytes: Array(yaml.utf8), file: "flood.yaml") }
        let diagnostic = try #require(error?.diagnostics.first)
        #expect(diagnostic.location.line == 6, "\(diagnostic)")
        #expect(diagnostic.location.column == 14, "\(diagnostic)")
        #expect(diagnostic.message.contains("1 MiB"), "\(diagnostic)")
    }

    @Test func validationAddsUpAStepsInput() throws {
        let refs = (0..<5).map { "      V\($0): \"${{ vars.big }}\"" }.joined(separator: "\n")
        let yaml = """
            version: 1
            name: wide
            vars:
              big: "\(Self.big)"
            steps:
              - id: a
                env:
            \(refs)
                run: "true"
            """
        let error = #expect(throws: SpecErrors.self) { try JobLoader.load(bytes: Array(yaml.utf8), file: "wide.yaml") }
        let diagnostic = try #require(error?.diagnostics.first)
        #expect(diagnostic.location.line == 6, "\(diagnostic)")
        #expect(diagnostic.message.contains("4 MiB"), "\(diagnostic)")
        // Four fit.
        let four = yaml.replacingOccurrences(of: "      V4: \"${{ vars.big }}\"\n", with: "")
        #expect(throws: Never.self) { try JobLoader.load(bytes: Array(four.utf8), file: "wide.yaml") }
    }

    /// `--var` values count: a small default, a large override.
    @Test func overridesAreCheckedToo() throws {
        let yaml = """
            version: 1
            name: small
            vars: { big: "" }
            steps:
              - { id: a, run: "echo ${{ \(Self.amplifier) }}" }
            """
        let job = try JobLoader.load(bytes: Array(yaml.utf8), file: "small.yaml")
        #expect(SizeChecker.check(job).isEmpty)
        let diagnostics = SizeChecker.check(job, vars: ["big": .string(Self.big)])
        #expect(diagnostics.first?.location.line == 5, "\(diagnostics)")
    }
}
