import AtomdTestSupport
import Foundation
import Testing

/// `state:` probes (DESIGN.md section 3), with the real binary on real
/// symlinks: the state before is what a revert restores, an unchanged
/// state means nothing to undo, and a state someone changed since is said.
@Suite struct StateProbeTests {
    typealias Scene = CompensationPromiseTests.Scene

    /// `current` points at releases/1; the job switches it to releases/2.
    static let switchJob = """
        version: 1
        name: switch
        vars: { dir: "", later: ok }
        steps:
          - id: switch
            run: { script: "ln -sfn releases/2 current", cwd: "${{ vars.dir }}" }
            state: { run: { script: 'echo "target=$(readlink current)"', cwd: "${{ vars.dir }}" } }
            revert: { run: { script: "ln -sfn ${{ state.before.target }} current", cwd: "${{ vars.dir }}" } }
          - id: later
            run: { script: "test ${{ vars.later }} = ok", cwd: "${{ vars.dir }}" }
        """

    private func scene() throws -> Scene {
        let scene = try Scene()
        for release in ["1", "2", "3"] {
            try FileManager.default.createDirectory(atPath: scene.world + "/releases/" + release, withIntermediateDirectories: true)
        }
        try FileManager.default.createSymbolicLink(atPath: scene.world + "/current", withDestinationPath: "releases/1")
        return scene
    }

    private func target(_ scene: Scene) throws -> String {
        try FileManager.default.destinationOfSymbolicLink(atPath: scene.world + "/current")
    }

    private func shown(_ scene: Scene) async throws -> String {
        let runID = try await #require(try CompensationPromiseTests.runIDs(scene).first)
        return try await AtomdProcess.run(["show", runID, "--home", scene.home]).stdout
    }

    @Test func aRevertRestoresTheStateBeforeAndShowPrintsTheChange() async throws {
        let scene = try scene()
        defer { scene.cleanUp() }
        let result = try await scene.runCompensated(Self.switchJob, ["--var", "later=failing"])
        #expect(try target(scene) == "releases/1", "\(result.stdout)")
        let show = try await shown(scene)
        #expect(show.contains("state: target: releases/1 → releases/2"), "\(show)")
    }

    @Test func aSucceededRunKeepsTheNewState() async throws {
        let scene = try scene()
        defer { scene.cleanUp() }
        let result = try await scene.run(Self.switchJob)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(try target(scene) == "releases/2")
    }

    @Test func aFailedStepWhoseStateDidNotChangeHasNothingToUndo() async throws {
        let scene = try scene()
        defer { scene.cleanUp() }
        // Fails before touching the link; a revert would point it at
        // state.before.target, which is right, but a destructive one would
        // not be: here the revert removes the link, and must not run.
        let yaml = """
            version: 1
            name: unchanged
            vars: { dir: "" }
            steps:
              - id: switch
                run: { script: "exit 1", cwd: "${{ vars.dir }}" }
                state: { run: { script: 'echo "target=$(readlink current)"', cwd: "${{ vars.dir }}" } }
                revert: { run: { script: "rm current", cwd: "${{ vars.dir }}" } }
            """
        let result = try await scene.runCompensated(yaml)
        #expect(try target(scene) == "releases/1", "\(result.stdout)")
        #expect(result.stdout.contains("nothing to undo (state unchanged)"), "\(result.stdout)")
    }

    @Test func aStateChangedSinceTheStepRanIsReportedBeforeTheRevert() async throws {
        let scene = try scene()
        defer { scene.cleanUp() }
        // Someone else points the link at releases/3 before the job fails.
        let yaml = Self.switchJob.replacingOccurrences(of: "test ${{ vars.later }} = ok", with: "ln -sfn releases/3 current; false")
        let result = try await scene.runCompensated(yaml)
        let show = try await shown(scene)
        #expect(try target(scene) == "releases/1", "\(result.stdout)")
        let journaled = try CompensationPromiseTests.journaled(scene, "status", step: "switch")
        #expect(journaled.contains { $0.contains("state changed since the step ran: target: releases/2 → releases/3") },
                "\(journaled)\n\(show)")
    }

    @Test func aRevertThatNeedsAStateNeverRecordedFailsInsteadOfGuessing() async throws {
        let scene = try scene()
        defer { scene.cleanUp() }
        // The probe prints a line that is not KEY=VALUE: the state is unknown.
        let yaml = Self.switchJob.replacingOccurrences(of: #"echo "target=$(readlink current)""#,
                                                       with: #"echo hello; echo "target=$(readlink current)""#)
        let result = try await scene.run(yaml, ["--var", "later=failing"])
        // Pointing the link at an empty name and calling it reverted would be a lie.
        #expect(result.status == 3, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("needs state.before.target, which was never recorded"), "\(result.stdout)")
        #expect(try target(scene) == "releases/2")
        let journaled = try CompensationPromiseTests.journaled(scene, "status", step: "switch")
        #expect(journaled.contains { $0.contains("line 1 is not KEY=VALUE") }, "\(journaled)")
    }
}
