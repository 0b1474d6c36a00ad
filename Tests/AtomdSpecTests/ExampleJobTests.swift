import Foundation
import Testing
@testable import AtomdSpec

@Suite struct ExampleJobTests {
    static let examples = Paths.yamlFiles(in: Paths.exampleJobs)

    @Test func theFourDocumentedExamplesExist() {
        let names = Set(Self.examples.map(\.lastPathComponent))
        #expect(names.isSuperset(of: ["launch-and-attach.yaml", "deploy-app.yaml", "zone-fallback.yaml", "parallel-prepare.yaml"]))
    }

    @Test(arguments: examples)
    func exampleIsValid(_ file: URL) throws {
        let job = try JobLoader.load(path: file.path)
        #expect(!job.steps.isEmpty)
        #expect(file.lastPathComponent == "\(job.name).yaml")
    }

    @Test func launchAndAttachDecodesActionsRevertsAndChecks() throws {
        let job = try JobLoader.load(path: Paths.exampleJobs.appendingPathComponent("launch-and-attach.yaml").path)
        #expect(job.steps.map(\.id) == ["server", "active", "volume", "attach"])
        #expect(job.finally.map(\.id) == ["report"])
        #expect(job.defaults.retry == RetryPolicy(attempts: 3, delay: .seconds(1), backoff: 2.0, maxDelay: .seconds(10)))
        let server = job.steps[0]
        guard case .http(let create) = server.action,
              case .action(let revert) = server.revert, case .http(let delete) = revert.action,
              case .http(let probe) = server.check?.action
        else {
            Issue.record("server should be an http step with http revert and check")
            return
        }
        #expect(create.method == "POST" && create.expect == [201])
        #expect(delete.method == "DELETE" && delete.expect == [204, 404])
        #expect(probe.absent == [404])
        #expect(server.outputs.map(\.name) == ["id"])
        #expect(server.timeout == .seconds(30))
        guard case .http(let wait) = job.steps[1].action else {
            Issue.record("active should be an http step")
            return
        }
        #expect(wait.until?.source == "response.json.status == 'ACTIVE'")
        #expect(wait.poll == HTTPAction.Poll(interval: .milliseconds(200), timeout: .seconds(120)))
        // `"${{ vars.size_gb }}"` is a sole expression: it keeps the number type.
        guard case .http(let volume) = job.steps[2].action, case .object(let body)? = volume.json,
              case .string(let size)? = body["size_gb"]
        else {
            Issue.record("volume should post a JSON body with size_gb")
            return
        }
        let evaluator = ExpressionEvaluator(contexts: ["vars": .object(job.vars)])
        #expect(try evaluator.render(size) == .integer(10))
    }

    @Test func deployAppHasAReversibleStepForEveryChange() throws {
        let job = try JobLoader.load(path: Paths.exampleJobs.appendingPathComponent("deploy-app.yaml").path)
        let steps = Dictionary(uniqueKeysWithValues: job.steps.map { ($0.id, $0) })
        for id in ["build", "drain", "unpack", "stop-old", "switch", "restore"] {
            guard case .action = steps[id]?.revert else {
                Issue.record("\(id) has no revert action")
                continue
            }
        }
        // start-new is undone by its atom: keep_running steps stop their process tree.
        guard case .run(let start)? = steps["start-new"]?.action else {
            Issue.record("start-new should be a run step")
            return
        }
        #expect(start.keepRunning)
        #expect(steps["layout"]?.revert == .irreversible && steps["layout"]?.converge == true)
        #expect(steps["unpack"]?.converge == true && steps["unpack"]?.check != nil)
        #expect(steps["switch"]?.idempotent == true)
    }

    @Test func zoneFallbackIsAForEachGroup() throws {
        let job = try JobLoader.load(path: Paths.exampleJobs.appendingPathComponent("zone-fallback.yaml").path)
        let group = try #require(job.steps.first?.group)
        #expect(group.retry?.strategy == .forEach([.string("zone-a"), .string("zone-b"), .string("zone-c")]))
        #expect(group.retry?.delay == .milliseconds(500))
        #expect(group.steps.map(\.id) == ["server", "disk"])
    }
}
