import Foundation
import Testing

@Suite struct PlanCommandTests {
    @Test func deployPlanShowsRunOrderThenCompensationNewestFirst() async throws {
        let result = try await AtomdProcess.run(["plan", "etc/jobs/deploy-app.yaml"])
        #expect(result.status == 0, "\(result.stderr)")
        let text = result.stdout
        let run = try #require(text.range(of: "Run order:"))
        let compensation = try #require(text.range(of: "Compensation order"))
        #expect(run.upperBound < compensation.lowerBound)
        let runPart = String(text[run.upperBound..<compensation.lowerBound])
        let compensationPart = String(text[compensation.upperBound...])
        func positions(_ ids: [String], in part: String) -> [String.Index] {
            ids.compactMap { id in part.range(of: " \(id) ")?.lowerBound }
        }
        let ids = ["layout", "build", "drain", "unpack", "stop-old", "switch", "start-new", "smoke", "restore"]
        let runPositions = positions(ids, in: runPart)
        #expect(runPositions.count == ids.count && runPositions == runPositions.sorted())
        let undoPositions = positions(ids.reversed(), in: compensationPart)
        #expect(undoPositions.count == ids.count && undoPositions == undoPositions.sorted())
        #expect(text.contains("Finally (always"))
        #expect(text.contains("converge"))
    }

    @Test func planJSONCarriesScopesAndStages() async throws {
        let result = try await AtomdProcess.run(["plan", "--json", "etc/jobs/parallel-prepare.yaml"])
        #expect(result.status == 0)
        let plan = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let stages = try #require(plan["compensation"] as? [[String: Any]])
        #expect(stages.map { $0["steps"] as? [String] ?? [] } == [
            ["package"], ["compile", "lint"], ["fetch-src", "fetch-config", "fetch-assets"], ["workspace"],
        ])
        #expect(plan["on_failure"] as? String == "revert")
    }

    @Test func anInvalidJobHasNoPlan() async throws {
        let result = try await AtomdProcess.run(["plan", "Tests/AtomdSpecTests/Fixtures/invalid/forward-reference.yaml"])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("forward-reference.yaml:5:25: error: step 'b' cannot have finished when 'a' runs"))
    }
}
