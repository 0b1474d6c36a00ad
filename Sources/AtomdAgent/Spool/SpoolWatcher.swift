import Foundation

/// Tells when job files may have arrived in `incoming/`: inotify's
/// `IN_MOVED_TO` (a producer renamed a file in) and `IN_CLOSE_WRITE` (one
/// was written in place), and `rescan` when the kernel's event queue
/// overflowed and events were lost. The watcher only says where to look;
/// the spool decides what is a job.
public final class SpoolWatcher: Sendable {
    public enum Event: Sendable, Hashable {
        case arrived(String)
        /// Events were lost: look at the whole directory again.
        case rescan
    }

    /// The events, in order, until `stop`.
    public let events: AsyncStream<Event>
    private let wake: Wake

    /// The socket pair that wakes the reader thread. Shared by the watcher
    /// and the thread and closed when both are done with it, so `stop` never
    /// writes to a closed (or reused) descriptor.
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

    public init(directory: String) throws(SpoolError) {
        let inotify = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard inotify >= 0 else { throw SpoolError(directory, "cannot be watched: \(String(cString: strerror(errno)))") }
        guard inotify_add_watch(inotify, directory, UInt32(IN_MOVED_TO | IN_CLOSE_WRITE)) >= 0 else {
            let reason = String(cString: strerror(errno))
            close(inotify)
            throw SpoolError(directory, "cannot be watched: \(reason)",
                             hint: "raise fs.inotify.max_user_watches if the limit is reached")
        }
        // A socket pair, not a pipe: close-on-exec from the start (a process
        // another thread starts meanwhile must not inherit it).
        var ends: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            close(inotify)
            throw SpoolError(directory, "cannot be watched: \(String(cString: strerror(errno)))")
        }
        let wake = Wake(ends)
        self.wake = wake
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self)
        events = stream
        Thread.detachNewThread { Self.read(inotify: inotify, wake: wake, into: continuation) }
    }

    /// Ends the event stream and releases the watch. Dropping the watcher
    /// does the same: keep it while its events are read.
    public func stop() {
        var byte: UInt8 = 1
        _ = send(wake.writer, &byte, 1, Int32(MSG_NOSIGNAL))
    }

    deinit {
        stop()
    }

    /// Blocks in poll on a thread of its own, never on the cooperative pool.
    private static func read(inotify: Int32, wake: Wake, into continuation: AsyncStream<Event>.Continuation) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var waiting = [pollfd(fd: inotify, events: Int16(POLLIN), revents: 0), pollfd(fd: wake.reader, events: Int16(POLLIN), revents: 0)]
        reading: while true {
            let ready = poll(&waiting, 2, -1)
            if ready < 0, errno == EINTR { continue }
            guard ready > 0, waiting[1].revents == 0 else { break }
            while true {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(inotify, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                if count < 0, errno == EAGAIN { break }
                guard count > 0 else { break reading }
                for event in parse(buffer[0..<count]) { continuation.yield(event) }
            }
        }
        continuation.finish()
        close(inotify)
    }

    /// inotify records: a fixed header, then a NUL-padded name.
    static func parse(_ bytes: ArraySlice<UInt8>) -> [Event] {
        var events: [Event] = []
        let header = MemoryLayout<inotify_event>.size
        var offset = bytes.startIndex
        while offset + header <= bytes.endIndex {
            let event = bytes[offset..<(offset + header)].withUnsafeBytes { $0.loadUnaligned(as: inotify_event.self) }
            let nameStart = offset + header, nameEnd = nameStart + Int(event.len)
            guard nameEnd <= bytes.endIndex else { break }
            if event.mask & UInt32(IN_Q_OVERFLOW) != 0 {
                events.append(.rescan)
            } else if nameEnd > nameStart {
                let name = bytes[nameStart..<nameEnd].prefix { $0 != 0 }
                events.append(.arrived(String(decoding: name, as: UTF8.self)))
            }
            offset = nameEnd
        }
        return events
    }
}
