import AtomdSpec
import Testing

/// Issue 32, item 8: validation points at steps a crash would leave to a
/// check that cannot tell, and at read-only steps a crash would fail.
@Suite struct InDoubtWarningsTests {
    static func job(_ steps: String) throws -> Job {
        try JobLoader.load(bytes: Array("version: 1\nname: t\nsteps:\n\(steps)".utf8), file: "t.yaml")
    }

    static func cannotTell(_ steps: String) throws -> [String] {
        InDoubtWarnings.checksThatCannotTell(try job(steps)).map(\.message)
    }

    @Test func aChangeFollowedByATestTheCheckDoesNotLookAtIsPointedAt() throws {
        let found = try Self.cannotTell("""
              - { id: smoke, run: "touch /srv/f && smoke-test", check: "test -e /srv/f" }
              - id: deploy
                run: |
                  cp app.tar /srv/releases/app.tar
                  curl -fsS http://127.0.0.1:8080/health
                check: test -f /srv/releases/app.tar
            """)
        #expect(found.count == 2, "\(found)")
        #expect(found.first?.hasPrefix("step 'smoke': its script ends with `smoke-test`, which its check does not look at") == true)
        #expect(found.last?.contains("`curl`") == true, "\(found)")
    }

    @Test func aScriptWhoseLastChangeTheCheckLooksAtIsNot() throws {
        let found = try Self.cannotTell("""
              - id: build
                run: |
                  work=$(mktemp -d)
                  cp app "$work/app"
                  tar -czf /srv/dist/.web.tmp -C "$work" .
                  mv /srv/dist/.web.tmp /srv/dist/web-${{ vars.release }}.tar.gz
                  rm -rf "$work"
                check: test -f /srv/dist/web-${{ vars.release }}.tar.gz
              - { id: guarded, run: "[ -d /srv ] || exit 1; touch /srv/f", check: "test -e /srv/f" }
              - { id: one, run: "touch /srv/g", check: "test -e /nowhere" }
              - { id: again, run: "touch /srv/h && smoke-test", check: "test -e /srv/h", idempotent: true }
              - { id: unchecked, run: "touch /srv/i && smoke-test" }
              - { id: piped, run: "curl -fsS http://127.0.0.1/x.tgz | tar -xz -C /srv/x", check: "test -d /srv/x" }
            vars: { release: "2" }
            """)
        #expect(found.isEmpty, "\(found)")
    }

    @Test func aReadOnlyStepThatIsNotIdempotentIsPointedAt() throws {
        let job = try Self.job("""
              - { id: lint, run: "test -s main.c", revert: none }
              - { id: query, run: "test -s main.c", revert: none, idempotent: true }
              - { id: probed, run: "test -s main.c", revert: none, check: "true" }
              - { id: plugin, uses: files.read, with: { path: /x }, revert: none }
            """)
        let found = InDoubtWarnings.readOnlyNotIdempotent(job) { $0.id == "plugin" }
        #expect(found.map(\.location.line) == [4], "\(found)")
        #expect(found.first?.message == "step 'lint': `revert: none`, no check and not idempotent: if the agent dies while it runs, nothing can tell whether it ran, and the whole run is compensated")
    }
}
