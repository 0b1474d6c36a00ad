import Foundation
import Testing
import AtomdTestSupport
@testable import AtomdAgent

/// sd_notify datagrams to a real socket, as systemd would receive them.
@Suite struct SystemdNotifierTests {
    @Test func statesArriveAsDatagrams() throws {
        let listener = NotifyListener()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.path])
        #expect(notifier.isActive)
        notifier.notify("READY=1")
        notifier.notify("STATUS=1 running, 0 queued")
        #expect(listener.receive() == "READY=1")
        #expect(listener.receive() == "STATUS=1 running, 0 queued")
    }

    @Test func withoutNotifySocketNothingIsSent() {
        let notifier = SystemdNotifier(environment: [:])
        #expect(!notifier.isActive)
        #expect(notifier.watchdogInterval == nil)
        notifier.notify("READY=1")
    }

    @Test func theWatchdogIsHalfItsTimeoutAndOnlyForThisProcess() {
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "4000000"]).watchdogInterval == .seconds(2))
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "\(getpid())"]).watchdogInterval == .seconds(2))
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "1"]).watchdogInterval == nil)
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "nonsense"]).watchdogInterval == nil)
    }
}
