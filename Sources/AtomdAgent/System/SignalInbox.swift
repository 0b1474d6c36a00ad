import CAtomdAgent
import Foundation

/// Delivers signals as an async stream. The handler is in place when `init`
/// returns, so a signal sent after that is never lost and never takes the
/// default action; `stop` (or dropping the inbox) restores the defaults.
public final class SignalInbox: Sendable {
    /// The signals received, in order.
    public let signals: AsyncStream<Int32>
    private let handled: [Int32]
    private let poller: DescriptorPoller

    public init(_ handled: [Int32]) throws(SystemError) {
        var ends: [Int32] = [-1, -1]
        guard atomd_pipe2(&ends, O_CLOEXEC | O_NONBLOCK) == 0 else { throw .current }
        let (reader, writer) = (ends[0], ends[1])
        for signal in handled where atomd_signal_forward(signal, writer) != 0 {
            let error = SystemError.current
            for signal in handled { atomd_signal_forward(signal, -1) }
            close(reader)
            close(writer)
            throw error
        }
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        signals = stream
        self.handled = handled
        do {
            poller = try DescriptorPoller(
                descriptor: reader,
                drain: { reader in
                    var bytes = [UInt8](repeating: 0, count: 64)
                    while true {
                        let count = read(reader, &bytes, bytes.count)
                        if count < 0, errno == EINTR { continue }
                        guard count > 0 else { return count < 0 && errno == EAGAIN }
                        for signal in bytes[0..<count] { continuation.yield(Int32(signal)) }
                    }
                },
                finished: { continuation.finish() })
        } catch {
            for signal in handled { atomd_signal_forward(signal, -1) }
            throw error
        }
        // The write end stays open for the life of the process: a handler
        // already running on another thread when `stop` restores the
        // defaults may still write to it, and must not hit a reused number.
    }

    /// Restores the default actions and ends the stream.
    public func stop() {
        for signal in handled { atomd_signal_forward(signal, -1) }
        poller.stop()
    }

    deinit {
        stop()
    }
}
