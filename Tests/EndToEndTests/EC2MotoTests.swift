import AtomdTestSupport
import Foundation
import Testing

/// `etc/jobs/ec2-launch-and-attach.yaml`, EC2's own API through the http
/// atom, against moto's EC2 emulator; the cloud is looked at after each run.
@Suite(.timeLimit(.minutes(5))) struct EC2MotoTests {
    static let job = "etc/jobs/ec2-launch-and-attach.yaml"

    static func home() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("atomd-ec2-\(UUID().uuidString)").path
    }

    @Test func theSuccessPathLeavesOneInstanceWithTheVolumeAttached() async throws {
        let moto = try await MotoEC2()
        let home = Self.home()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let result = try await AtomdProcess.run(["run", Self.job, "--home", home, "--var", "endpoint=\(moto.endpoint)"],
                                                environment: MotoEC2.credentials)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let instances = try await moto.liveInstances()
        #expect(instances.count == 1)
        let ours = try await moto.volumeKeys()
        #expect(ours.count == 1 && ours.allSatisfy { $0.hasSuffix("/volume/1") }, "\(ours)")
        let attached = try MotoEC2.select(try await moto.call("DescribeVolumes", ["Filter.1.Name": "tag-key", "Filter.1.Value.1": "atomd-key"]),
                                          "//ns:attachmentSet/ns:item/ns:instanceId")
        #expect(attached == instances, "the volume is attached to the instance the run launched")
    }

    /// `paginate:` over EC2's NextToken: twelve instances, five a page
    /// (moto pages DescribeInstances, not DescribeVolumes), one list.
    @Test func pagesOfDescribeInstancesAreGathered() async throws {
        let moto = try await MotoEC2()
        for _ in 0..<12 {
            _ = try await moto.call("RunInstances", ["ImageId": "ami-12c6146b", "MinCount": "1", "MaxCount": "1", "InstanceType": "t3.micro"])
        }
        let home = Self.home()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let job = try AtomdProcess.temporaryJob("""
            version: 1
            name: list-instances
            vars: { endpoint: { type: string } }
            secrets:
              aws_key: { env: AWS_ACCESS_KEY_ID }
              aws_secret: { env: AWS_SECRET_ACCESS_KEY }
            steps:
              - id: list
                idempotent: true
                revert: none
                http:
                  method: POST
                  url: ${{ vars.endpoint }}
                  auth: { aws_sigv4: { provider: "aws:amz:us-east-1:ec2", access_key: "${{ secrets.aws_key }}", secret: "${{ secrets.aws_secret }}" } }
                  form: { Action: DescribeInstances, Version: "2016-11-15", MaxResults: "5" }
                  paginate:
                    items: "xpath(response.text, '//ns:instancesSet/ns:item/ns:instanceId')"
                    next: "xpath(response.text, 'string(//ns:nextToken)')"
                    param: NextToken
                outputs: { instances: "${{ response.items }}" }
              - id: count
                revert: none
                env: { INSTANCES: "${{ toJSON(steps.list.outputs.instances) }}" }
                run: python3 -c 'import json, os; v = json.loads(os.environ["INSTANCES"]); assert len(set(v)) == 12, v'
            """)
        let result = try await AtomdProcess.run(["run", job, "--home", home, "--var", "endpoint=\(moto.endpoint)"],
                                                environment: MotoEC2.credentials)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let logs = try await AtomdProcess.run(["logs", try #require(result.stdout.split(separator: " ").first { $0.hasPrefix("20") }.map(String.init)),
                                               "list", "--home", home])
        #expect(logs.stdout.components(separatedBy: "NextToken=").count - 1 == 2, "three pages, two of them after a token: \(logs.stdout)")
    }

    /// A failure at every step, after it and in its place: compensation
    /// leaves no instance running and no volume, seen from EC2's side.
    @Test func aRehearsalAtEveryStepLeavesNothingInTheCloud() async throws {
        let moto = try await MotoEC2()
        let home = Self.home()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let result = try await AtomdProcess.run(["rehearse", Self.job, "--home", home, "--var", "endpoint=\(moto.endpoint)", "--yes", "--json"],
                                                environment: MotoEC2.credentials)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let rows = RehearseCommandTests.rows(try RehearseCommandTests.summary(result))
        #expect(rows.count == 10, "every step, after it and in its place")
        for row in rows {
            #expect((row["left_behind"] as? [String])?.isEmpty == true && (row["unknown"] as? [String])?.isEmpty == true,
                    "every check can tell: \(row)")
        }
        #expect(try await moto.liveInstances() == [], "\(result.stdout)")
        #expect(try await moto.volumeKeys() == [], "\(result.stdout)")
        #expect(try await moto.volumes() == [], "a root volume of a terminated instance was left: \(result.stdout)")
    }
}
