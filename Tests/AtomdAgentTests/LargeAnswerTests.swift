import Foundation
@testable import AtomdAgent
import Testing

/// Answers the agent builds whole in memory stay bounded: a log answer
/// holds the last 4 MiB of each file, and each user may have two large
/// answers in the making at once.
@Suite struct LargeAnswerTests {
    @Test func aLogAnswerHoldsTheTailOfABigLog() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-logs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let line = String(repeating: "x", count: 1023) + "\n"
        let lines = (0..<(10 * 1024)).map { "\($0) \(line)" }.joined()
        try Data(lines.utf8).write(to: URL(fileURLWithPath: directory + "/big.1.log"))
        let answer = StepLogs.lines(directory: directory, step: nil)
        #expect(answer.first?.line.hasPrefix("[atomd] the first 6 MiB of this log are left out here") == true, "\(answer.first?.line ?? "")")
        #expect(answer.last?.line.hasPrefix("10239 ") == true)
        let kept = answer.dropFirst().map { $0.line.utf8.count + 1 }.reduce(0, +)
        #expect(kept <= StepLogs.tailBytes && kept > StepLogs.tailBytes - 2048, "\(kept)")
    }

    @Test func eachUserHasTwoSlotsForLargeAnswers() async throws {
        let slots = AnswerSlots(perCaller: 2)
        let user = PeerCredentials(uid: 4242, gid: 4242, pid: 1)
        let (gate, open) = AsyncStream<Void>.makeStream()
        let (started, start) = AsyncStream<Void>.makeStream()
        let held = Task {
            try await slots.with(user) {
                start.yield()
                try await slots.with(user) {
                    start.yield()
                    for await _ in gate { break }
                }
            }
        }
        var iterator = started.makeAsyncIterator()
        _ = await iterator.next()
        _ = await iterator.next()
        await #expect(throws: APIError.self) { try await slots.with(user) {} }
        // Another user, and root, are not held back by this one.
        try await slots.with(PeerCredentials(uid: 4343, gid: 4343, pid: 2)) {}
        try await slots.with(PeerCredentials(uid: 0, gid: 0, pid: 3)) {}
        open.yield()
        try await held.value
        try await slots.with(user) {}
    }
}
