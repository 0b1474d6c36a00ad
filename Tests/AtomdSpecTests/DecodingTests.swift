import Testing
@testable import AtomdSpec

@Suite struct DecodingTests {
    @Test(arguments: [
        ("500ms", Duration.milliseconds(500)), ("10s", .seconds(10)), ("2m", .seconds(120)),
        ("1h", .seconds(3600)), ("1h30m", .seconds(5400)), ("1m30s500ms", .milliseconds(90_500)),
        ("30d", .seconds(30 * 86_400)), ("1d12h", .seconds(129_600)),
    ])
    func durationsParse(_ text: String, _ expected: Duration) {
        #expect(Duration(jobText: text) == expected)
    }

    @Test(arguments: ["", "10", "s", "10 s", "1.5s", "30s1m", "10sec", "-5s", "1w", "1h1d", "9999999999s"])
    func malformedDurationsAreRejected(_ text: String) {
        #expect(Duration(jobText: text) == nil)
    }

    @Test func durationsPrintInTheirShortestForm() {
        #expect(Duration.seconds(90).jobText == "1m30s")
        #expect(Duration.milliseconds(1500).jobText == "1s500ms")
        #expect(Duration.zero.jobText == "0s")
    }

    @Test func scalarsFollowTheYAML12CoreSchema() {
        func value(_ text: String, _ style: YAMLNode.Scalar.Style = .plain) -> ScalarValue {
            ScalarValue(YAMLNode.Scalar(text: text, style: style))
        }
        #expect(value("true") == .bool(true))
        #expect(value("False") == .bool(false))
        #expect(value("yes") == .string("yes"))
        #expect(value("off") == .string("off"))
        #expect(value("~") == .null)
        #expect(value("42") == .integer(42))
        #expect(value("0x1F") == .integer(31))
        #expect(value("012") == .integer(12))
        #expect(value("1.5e3") == .float(1500))
        #expect(value("1.2.3") == .string("1.2.3"))
        #expect(value("true", .doubleQuoted) == .string("true"))
        #expect(value("10", .singleQuoted) == .string("10"))
    }

    @Test func quotedYesIsAcceptedAsTextButNotAsABoolean() {
        let found = problems(job(steps: "  - id: a\n    run: echo\n    idempotent: 'true'\n"))
        #expect(found.first?.message == "'idempotent' must be true or false, not a string 'true'")
    }

    @Test func everyStepFieldDecodes() throws {
        let loaded = try load("""
            version: 1
            name: all-fields
            description: every field once
            vars: { n: 2 }
            env: { LANG: C.UTF-8 }
            secrets:
              token: { env: CLOUD_TOKEN }
              key: { file: /etc/atomd/secrets/key }
            defaults: { timeout: 1m, retry: { attempts: 2, delay: 500ms } }
            on_failure: pause
            rollback: { auto_resume: true }
            rehearse: allowed
            steps:
              - id: a
                name: Step A
                if: vars.n > 1
                env: { X: "${{ secrets.token }}" }
                timeout: 5s
                retry: { attempts: 4, backoff: 2, max_delay: 10s, jitter: 0.2, on: [error, timeout, 75] }
                run: { script: "echo hi", shell: /bin/bash, env: { Y: "1" }, cwd: /tmp, user: nobody, group: nogroup }
                outputs: { greeting: "${{ outputs.greeting }}" }
                check: { run: "test -e /tmp/x", timeout: 2s }
                revert: { run: "rm -f /tmp/x", retry: 3 }
                continue_on_error: true
                converge: true
                idempotent: true
                lock: tmp-x
              - id: b
                uses: cloud.attach
                with: { server: "${{ steps.a.outputs.greeting }}" }
                revert: none
            finally:
              - id: f
                if: failure()
                http: { method: POST, url: "http://127.0.0.1:8700/notify", headers: { X-Run: "${{ run.id }}" }, query: { q: "1" }, body: done }
            """)
        #expect(loaded.description == "every field once")
        #expect(loaded.secrets == ["token": .environment("CLOUD_TOKEN"), "key": .file("/etc/atomd/secrets/key")])
        #expect(loaded.onFailure == .pause)
        #expect(loaded.rollback.autoResume)
        #expect(loaded.rehearseAllowed)
        let a = loaded.steps[0]
        #expect(a.name == "Step A")
        #expect(a.timeout == .seconds(5))
        #expect(a.retry == RetryPolicy(attempts: 4, delay: .milliseconds(500), backoff: 2, maxDelay: .seconds(10),
                                       jitter: 0.2, on: [.error, .timeout, .exitCode(75)]))
        #expect(a.continueOnError && a.converge && a.idempotent)
        #expect(a.lock == "tmp-x")
        guard case .run(let shell) = a.action else {
            Issue.record("a should be a run step")
            return
        }
        #expect(shell.shell == "/bin/bash")
        #expect(shell.cwd?.literalText == "/tmp" && shell.user?.literalText == "nobody")
        #expect(a.check?.timeout == .seconds(2))
        guard case .action(let revert) = a.revert else {
            Issue.record("a should have a revert action")
            return
        }
        // A revert's retry starts from the job defaults, like a step's.
        #expect(revert.retry?.attempts == 3 && revert.retry?.delay == .milliseconds(500))
        #expect(loaded.steps[1].revert == .irreversible)
        #expect(loaded.steps[1].timeout == .seconds(60))
        guard case .http(let http) = loaded.finally[0].action else {
            Issue.record("f should be an http step")
            return
        }
        #expect(http.headers.map(\.name) == ["X-Run"] && http.body?.literalText == "done")
    }

    @Test func aStringRevertIsAShellCommandAndNoneIsIrreversible() throws {
        let loaded = try load(job(steps: """
              - id: a
                run: touch /tmp/x
                revert: rm -f /tmp/x
              - id: b
                run: echo
                revert: 'none'
            """))
        guard case .action(let revert) = loaded.steps[0].revert, case .run(let shell) = revert.action else {
            Issue.record("expected a run revert")
            return
        }
        #expect(shell.script.literalText == "rm -f /tmp/x")
        // Only the plain word none means irreversible; quoted, it is a command.
        #expect(loaded.steps[1].revert != .irreversible)
    }

    @Test func unknownKeysEverywhereGetHints() {
        let found = problems(job(steps: """
              - id: a
                http: { url: 'http://127.0.0.1/', metod: GET }
                revert: { run: echo, timout: 1s }
            """))
        #expect(found.map(\.fullMessage) == [
            "unknown key 'metod' in 'http'; did you mean 'method'?",
            "unknown key 'timout' in 'revert'; did you mean 'timeout'?",
        ])
    }

    @Test func allProblemsAreReportedNotOnlyTheFirst() {
        let found = problems("""
            version: 3
            name: t
            on_failure: never
            steps:
              - id: A
                run: echo
              - id: b
            """)
        #expect(found.count == 4)
        #expect(found.map(\.location.line) == [1, 3, 5, 7])
    }
}

/// Where an expression inside a scalar is reported: columns count characters
/// as libyaml does (not bytes), and CRLF files have lines like any other.
@Suite struct ExpressionPositionTests {
    private func position(_ text: String) -> SourceLocation? {
        do {
            _ = try JobLoader.load(bytes: Array(text.utf8), file: "t.yaml")
            return nil
        } catch {
            return error.diagnostics.first { $0.message.contains("nope") }?.location
        }
    }

    private let job = "version: 1\nname: t\nsteps:\n  - id: a\n    run: \"hello ${{ nope.x }} and ${{ nope.y }}\"\n"

    @Test func aMultiByteCharacterBeforeAnExpressionIsOneColumn() throws {
        let plain = try #require(position(job))
        #expect(plain.line == 5)
        #expect(position(job.replacingOccurrences(of: "hello", with: "héllo")) == plain)
        #expect(position(job.replacingOccurrences(of: "hello", with: "h€llo")) == plain)
    }

    @Test func crlfLinesAreLinesToo() throws {
        let plain = try #require(position(job))
        #expect(position(job.replacingOccurrences(of: "\n", with: "\r\n")) == plain)
    }

    @Test func anExpressionOnALaterLineOfABlockScalarIsFoundThere() throws {
        let text = "version: 1\nname: t\nsteps:\n  - id: a\n    run: |\n      echo é\n      echo ${{ nope.z }}\n"
        #expect(position(text) == SourceLocation(line: 7, column: 16))
    }
}
