import Foundation

/// Tells when job files may have arrived in `incoming/`: inotify's
/// `IN_MOVED_TO` (a producer renamed a file in) and `IN_CLOSE_WRITE` (one
/// was written in place), and `rescan` when the kernel's event queue
/// overflowed and events were lost. The watcher only says where to look;
/// the spool decides what is a job.
public final class SpoolWatcher: Sendable {
    public enum Event: Sendable, Hashable {
        case arrived(String)
        /// A name appeared by creation: a file about to be written (its
        /// IN_CLOSE_WRITE follows), a symlink, or a hard link, which gets no
        /// other event.
        case created(String)
        /// Events were lost: look at the whole directory again.
        case rescan
    }

    /// The events, in order, until `stop`.
    public let events: AsyncStream<Event>
    private let poller: DescriptorPoller

    public init(directory: String) throws(SpoolError) {
        let inotify = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard inotify >= 0 else { throw SpoolError(directory, "cannot be watched: \(SystemError.current)") }
        guard inotify_add_watch(inotify, directory, UInt32(IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE)) >= 0 else {
            let reason = SystemError.current
            close(inotify)
            throw SpoolError(directory, "cannot be watched: \(reason)",
                             hint: "raise fs.inotify.max_user_watches if the limit is reached")
        }
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self)
        events = stream
        let buffer = ReadBuffer()
        do {
            poller = try DescriptorPoller(
                descriptor: inotify,
                drain: { buffer.drain($0, into: continuation) },
                finished: { continuation.finish() })
        } catch {
            throw SpoolError(directory, "cannot be watched: \(error)")
        }
    }

    /// Ends the event stream and releases the watch. Dropping the watcher
    /// does the same: keep it while its events are read.
    public func stop() {
        poller.stop()
    }

    /// `@unchecked`: only the poller's one thread touches it, one drain at a time.
    private final class ReadBuffer: @unchecked Sendable {
        var bytes = [UInt8](repeating: 0, count: 64 * 1024)

        /// Reads until the queue is empty; false when the watch is gone.
        func drain(_ inotify: Int32, into continuation: AsyncStream<Event>.Continuation) -> Bool {
            while true {
                let count = bytes.withUnsafeMutableBytes { Glibc.read(inotify, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                if count < 0, errno == EAGAIN { return true }
                guard count > 0 else { return false }
                for event in SpoolWatcher.parse(bytes[0..<count]) { continuation.yield(event) }
            }
        }
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
                let text = String(decoding: name, as: UTF8.self)
                events.append(event.mask & UInt32(IN_CREATE) != 0 ? .created(text) : .arrived(text))
            }
            offset = nameEnd
        }
        return events
    }
}
