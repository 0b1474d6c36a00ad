import Testing
@testable import AtomdSpec

@Suite struct PlanTests {
    func plan(_ file: String) throws -> JobPlan {
        JobPlan(try JobLoader.load(path: Paths.exampleJobs.appendingPathComponent(file).path))
    }

    @Test func sequenceCompensatesNewestFirst() throws {
        let deploy = try plan("deploy-app.yaml")
        let ids = ["layout", "build", "drain", "unpack", "stop-old", "switch", "start-new", "smoke", "restore"]
        #expect(deploy.steps.map(\.id) == ids)
        #expect(deploy.steps.map(\.order) == Array(1...9))
        #expect(deploy.compensation.map(\.steps) == ids.reversed().map { [$0] })
        #expect(deploy.finally.map(\.id) == ["notify"])
    }

    @Test func parallelBranchesAndGraphLevelsRevertTogetherInsideOut() throws {
        let prepare = try plan("parallel-prepare.yaml")
        let build = try #require(prepare.steps.first { $0.id == "build" })
        #expect(build.children.map(\.order) == [1, 1, 2])
        #expect(build.children.last?.scope == .graph(group: "build", level: 2))
        let fetch = try #require(prepare.steps.first { $0.id == "fetch" })
        #expect(fetch.maxParallel == 2)
        #expect(fetch.children.allSatisfy { $0.scope == .parallel(group: "fetch") })
        #expect(prepare.compensation.map(\.steps) == [
            ["package"], ["compile", "lint"], ["fetch-src", "fetch-config", "fetch-assets"], ["workspace"],
        ])
        #expect(build.children[1].revert == "none (irreversible)")
    }

    @Test func nestedGroupsInParallelBranchesRevertStageByStage() throws {
        let loaded = try load(job(steps: """
              - id: p
                group:
                  mode: parallel
                  steps:
                    - id: left
                      group:
                        steps:
                          - { id: l1, run: echo }
                          - { id: l2, run: echo }
                    - { id: right, run: echo }
            """))
        #expect(JobPlan(loaded).compensation.map(\.steps) == [["l2", "right"], ["l1"]])
    }

    @Test func graphLevelsAreLongestPaths() throws {
        let loaded = try load(job(steps: """
              - id: g
                group:
                  mode: graph
                  steps:
                    - { id: d, needs: [a, c], run: echo }
                    - { id: a, run: echo }
                    - { id: b, needs: a, run: echo }
                    - { id: c, needs: b, run: echo }
            """))
        let levels = JobPlan(loaded).steps[0].children.map { ($0.id, $0.order) }
        #expect(levels.map(\.0) == ["d", "a", "b", "c"])
        #expect(levels.map(\.1) == [4, 1, 2, 3])
    }
}
