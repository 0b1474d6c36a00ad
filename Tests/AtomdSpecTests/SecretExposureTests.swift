import AtomdSpec
import Testing

/// Validation says which steps hand a secret to a user whose other
/// processes can read it.
@Suite struct SecretExposureTests {
    static func warnings(_ text: String) throws -> [Diagnostic] {
        SecretExposure.warnings(try JobLoader.load(bytes: Array(text.utf8), file: "t.yaml"))
    }

    @Test func aSecretReachingAUserStepIsWarnedAboutAtItsUser() throws {
        let found = try Self.warnings("""
            version: 1
            name: t
            secrets: { token: { env: TOKEN } }
            steps:
              - id: a
                run: { script: "curl -H \\"X: ${{ secrets.token }}\\" http://127.0.0.1:9/", user: deploy }
              - id: b
                run: { script: "echo $T", user: deploy }
                env: { T: "${{ secrets.token }}" }
              - id: c
                run: echo "${{ secrets.token }}"
              - id: d
                run: { script: "echo hi", user: deploy }
            """)
        #expect(found.map(\.location.line) == [6, 8])
        #expect(found.first?.message.contains("step 'a' gets a secret and runs as 'deploy'") == true)
        #expect(found.first?.message.contains("/proc/PID/environ") == true)
    }

    @Test func aJobWideSecretReachesEveryUserStep() throws {
        let found = try Self.warnings("""
            version: 1
            name: t
            secrets: { token: { env: TOKEN } }
            env: { AUTH: "Bearer ${{ secrets.token }}" }
            steps:
              - id: a
                run: { script: "echo hi", user: deploy }
            """)
        #expect(found.count == 1)
    }
}
