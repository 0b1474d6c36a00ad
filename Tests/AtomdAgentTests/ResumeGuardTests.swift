import AtomdEngine
import AtomdSpec
import Foundation
import Testing
@testable import AtomdAgent

/// Issue 31: which starts count as "died while resuming the run".
@Suite struct ResumeGuardTests {
    func event(_ sequence: Int, _ kind: EngineEvent.Kind, data: [String: JSONValue]? = nil) -> EngineEvent {
        EngineEvent(sequence: sequence, runID: "r", stepID: kind.isStep ? "a" : nil, kind: kind, time: Date(), data: data.map { .object($0) })
    }

    var started: [EngineEvent] { [event(1, .run(.running)), event(2, .step(.running))] }

    @Test func twoMarkersWithoutProgressParkTheRun() {
        var history = started
        #expect(ResumeGuard.verdict(history) == .resume(crashed: 0))
        history.append(ResumeGuard.marker(runID: "r", after: history, crashed: 0))
        #expect(ResumeGuard.verdict(history) == .resume(crashed: 1))
        history.append(ResumeGuard.marker(runID: "r", after: history, crashed: 1))
        #expect(ResumeGuard.verdict(history) == .park(crashed: 2))
        history.append(ResumeGuard.parking(runID: "r", after: history, crashed: 2))
        #expect(ResumeGuard.verdict(history) == .parked)
        history.append(ResumeGuard.unparking(runID: "r", after: history, by: "root"))
        #expect(ResumeGuard.verdict(history) == .resume(crashed: 0))
        #expect(ResumeGuard.staysPaused(history))
    }

    @Test func progressAfterAResumptionClearsIt() {
        var history = started
        history.append(ResumeGuard.marker(runID: "r", after: history, crashed: 0))
        history.append(event(history.count + 1, .step(.succeeded)))
        history.append(ResumeGuard.marker(runID: "r", after: history, crashed: 0))
        // One death since the step ended, not two.
        #expect(ResumeGuard.verdict(history) == .resume(crashed: 1))
        // Log lines and a step's start are not progress.
        history.append(event(history.count + 1, .log("hello")))
        history.append(event(history.count + 1, .step(.running)))
        history.append(ResumeGuard.marker(runID: "r", after: history, crashed: 1))
        #expect(ResumeGuard.verdict(history) == .park(crashed: 2))
    }
}

extension EngineEvent.Kind {
    var isStep: Bool { if case .step = self { true } else { false } }
}
