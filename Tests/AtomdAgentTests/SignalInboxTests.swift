import Foundation
import Testing
@testable import AtomdAgent

/// Real signals sent to this test process. SIGUSR1 and SIGUSR2 only, and
/// serialized: the handlers are process-wide.
@Suite(.serialized) struct SignalInboxTests {
    func currentAction(_ signal: Int32) -> UInt {
        var action = sigaction()
        sigaction(signal, nil, &action)
        return unsafeBitCast(action.__sigaction_handler.sa_handler, to: UInt.self)
    }

    @Test func aSignalSentRightAfterInitArrivesInOrder() async throws {
        let inbox = try SignalInbox([SIGUSR1, SIGUSR2])
        var signals = inbox.signals.makeAsyncIterator()
        // Sent before anything reads: the handler is already in place, so
        // neither is lost and neither ends this process.
        kill(getpid(), SIGUSR1)
        #expect(await signals.next() == SIGUSR1)
        kill(getpid(), SIGUSR2)
        #expect(await signals.next() == SIGUSR2)
        inbox.stop()
        #expect(await signals.next() == nil)
    }

    @Test func stopRestoresTheDefaultAction() throws {
        let inbox = try SignalInbox([SIGUSR2])
        #expect(currentAction(SIGUSR2) != 0)
        inbox.stop()
        #expect(currentAction(SIGUSR2) == 0, "SIG_DFL is 0")
    }

    @Test func aSignalNumberOutOfRangeIsRefused() {
        #expect(throws: SystemError.self) { try SignalInbox([SIGUSR1, 99]) }
        #expect(currentAction(SIGUSR1) == 0, "a refused inbox leaves nothing installed")
    }
}
