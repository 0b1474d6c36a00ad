import Glibc
import Logging
import Synchronization
import Testing
@testable import AtomdAgent

/// Issue 31: the caps each server puts on connections.
@Suite struct ConnectionLimiterTests {
    @Test func eachPeerGetsItsShareAndTheTotalHolds() {
        let limiter = ConnectionLimiter(name: "test", total: 3, perPeer: 2, peer: .uid, log: Logger(label: "test"),
                                        freeDescriptors: { 10_000 })
        #expect(limiter.admit("uid 1000") == nil)
        #expect(limiter.admit("uid 1000") == nil)
        #expect(limiter.admit("uid 1000")?.contains("has 2 connections open") == true)
        #expect(limiter.admit("uid 1001") == nil)
        #expect(limiter.admit("uid 1001")?.contains("3 connections are open") == true)
        limiter.release("uid 1000")
        #expect(limiter.admit("uid 1001") == nil)
        #expect(limiter.openCount == 3)
        #expect(limiter.refusedCount == 2)
        limiter.release("uid 1000")
        limiter.release("uid 1001")
        limiter.release("uid 1001")
        // Root is held to the total only.
        for _ in 0..<3 { #expect(limiter.admit("uid 0") == nil) }
        #expect(limiter.admit("uid 0")?.contains("3 connections are open") == true)
    }

    /// Below the reserve every connection is refused, whoever asks: the
    /// descriptors left are the runs'.
    @Test func nothingIsAcceptedBelowTheReserve() {
        let free = Mutex(DescriptorBudget.reserve - 1)
        let limiter = ConnectionLimiter(name: "test", total: 100, perPeer: 100, peer: .address, log: Logger(label: "test"),
                                        freeDescriptors: { free.withLock { $0 } })
        #expect(limiter.admit("127.0.0.1")?.contains("file descriptors") == true)
        #expect(limiter.openCount == 0)
        free.withLock { $0 = DescriptorBudget.reserve }
        #expect(limiter.admit("127.0.0.1") == nil)
    }

    @Test func theSoftLimitIsRaisedToTheHardOne() {
        _ = DescriptorBudget.raiseSoftLimit()
        var limits = rlimit()
        #expect(getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limits) == 0)
        #expect(limits.rlim_cur == limits.rlim_max)
        #expect(DescriptorBudget.limit == Int(clamping: limits.rlim_cur))
        #expect((DescriptorBudget.openCount() ?? 0) > 2)
    }
}
