import Testing
@testable import AtomdSpec

/// References that must be accepted: each ordering rule has a legal side too.
@Suite struct ReferenceTests {
    @Test func graphStepsMayReadWhatTheyTransitivelyNeed() throws {
        _ = try load(job(steps: """
              - id: g
                group:
                  mode: graph
                  steps:
                    - id: a
                      run: echo
                    - id: b
                      needs: a
                      run: echo
                    - id: c
                      needs: [b]
                      run: echo ${{ steps.a.outputs.x }} ${{ steps.b.status }}
            """))
    }

    @Test func laterStepsMayReadStepsInsideEarlierGroups() throws {
        _ = try load(job(steps: """
              - id: g
                group:
                  mode: parallel
                  steps:
                    - id: a
                      run: echo
              - id: b
                run: echo ${{ steps.a.outputs.anything }}
            """))
    }

    @Test func stepsInsideAGroupMayReadStepsBeforeTheGroup() throws {
        _ = try load(job(steps: """
              - id: first
                run: echo
              - id: g
                group:
                  mode: parallel
                  steps:
                    - id: a
                      run: echo ${{ steps.first.status }}
            """))
    }

    @Test func finallyStepsMayReadAnyMainStep() throws {
        _ = try load(job(steps: """
              - id: a
                run: echo
            finally:
              - id: f
                run: echo ${{ steps.a.status }}
            """))
    }

    @Test func aGroupsOutputsMayReadItsOwnSteps() throws {
        let loaded = try load(job(steps: """
              - id: g
                group:
                  steps:
                    - id: inner
                      run: echo
                outputs: { x: "${{ steps.inner.outputs.x }}" }
              - id: after
                run: echo ${{ steps.g.outputs.x }}
            """))
        #expect(loaded.steps[0].outputs.map(\.name) == ["x"])
    }

    @Test func aGroupsOwnStepsCannotReadTheGroup() {
        let found = problems(job(steps: """
              - id: g
                group:
                  steps:
                    - id: inner
                      run: echo ${{ steps.g.status }}
            """))
        #expect(found.first?.fullMessage == "step 'g' cannot have finished when 'inner' runs; 'inner' is inside group 'g', which is still running")
    }

    @Test func checkAndRevertReadTheirOwnDeclaredOutputs() {
        let found = problems(job(steps: """
              - id: a
                http: { method: POST, url: "http://127.0.0.1/x" }
                outputs: { id: "${{ response.json.id }}" }
                check: { http: { url: "http://127.0.0.1/x/${{ outputs.id }}", absent: [404] } }
                revert: { http: { method: DELETE, url: "http://127.0.0.1/x/${{ outputs.idd }}" } }
            """))
        #expect(found.map(\.fullMessage) == ["the step declares no output 'idd'; did you mean 'id'?"])
    }

    @Test func jobEnvCannotReadSteps() {
        let found = problems(job(steps: "  - id: a\n    run: echo\n", head: "env: { X: \"${{ steps.a.status }}\" }\n"))
        #expect(found.first?.message.contains("not available in job-level env") == true)
    }

    @Test func dynamicIndexesAreCheckedInside() {
        let found = problems(job(steps: """
              - id: a
                run: echo
              - id: b
                run: echo ${{ steps.a.outputs[vars.nope] }}
            """))
        #expect(found.map(\.message) == ["unknown variable 'nope'"])
    }
}
