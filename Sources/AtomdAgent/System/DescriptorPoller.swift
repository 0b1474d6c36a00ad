import Foundation

/// Waits for a descriptor to become readable on a thread of its own, never
/// on the cooperative pool, and calls `drain` each time until `stop()` or
/// until `drain` returns false; then `finished`. The descriptor belongs to
/// the poller: it is closed when the thread ends.
final class DescriptorPoller: Sendable {
    private let wake: Wake

    /// The socket pair that wakes the thread. Shared by the poller and the
    /// thread and closed when both are done with it, so `stop` never writes
    /// to a closed (or reused) descriptor.
    private final class Wake: Sendable {
        let reader: Int32
        let writer: Int32

        init(_ ends: [Int32]) {
            reader = ends[0]
            writer = ends[1]
        }

        deinit {
            close(reader)
            close(writer)
        }
    }

    /// Throws the errno of a failed socketpair; `descriptor` is closed then.
    init(descriptor: Int32, drain: @escaping @Sendable (Int32) -> Bool, finished: @escaping @Sendable () -> Void) throws(SystemError) {
        // A socket pair, not a pipe: close-on-exec from the start (a process
        // another thread starts meanwhile must not inherit it).
        var ends: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            let error = SystemError.current
            close(descriptor)
            throw error
        }
        let wake = Wake(ends)
        self.wake = wake
        Thread.detachNewThread {
            var waiting = [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: wake.reader, events: Int16(POLLIN), revents: 0)]
            while true {
                let ready = poll(&waiting, 2, -1)
                if ready < 0, errno == EINTR { continue }
                guard ready > 0, waiting[1].revents == 0, drain(descriptor) else { break }
            }
            finished()
            close(descriptor)
        }
    }

    func stop() {
        var byte: UInt8 = 1
        _ = send(wake.writer, &byte, 1, Int32(MSG_NOSIGNAL))
    }

    deinit {
        stop()
    }
}

/// A failed system call's errno, with its text.
public struct SystemError: Error, CustomStringConvertible, Sendable {
    public let code: Int32

    static var current: SystemError { SystemError(code: errno) }

    public var description: String { String(cString: strerror(code)) }
}
