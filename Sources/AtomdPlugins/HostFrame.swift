import AtomdSpec
import Foundation
import Synchronization

/// One message between the agent and a plugin host. Frames are JSON, each
/// preceded by its length as four bytes, big-endian.
///
/// Host to agent: `hello` (the descriptor, once, first) or `refused` (the
/// plugin failed its checks; the host then exits), then `log`, `progress`
/// and `result` for calls. Agent to host: `call` and `cancel`.
struct HostFrame: Codable, Sendable {
    enum Kind: String, Codable, Sendable {
        case hello, refused, call, cancel, log, progress, result
    }

    var kind: Kind
    /// The call a frame belongs to.
    var id: UInt64?
    var descriptor: PluginDescriptor?
    /// The refusal, the log line, or the progress note.
    var message: String?
    var hint: String?
    var fraction: Double?
    var request: PluginRequest?
    var reply: PluginReply?

    init(_ kind: Kind, id: UInt64? = nil) {
        self.kind = kind
        self.id = id
    }

    /// Frames larger than this are broken: nothing atomd sends or a plugin
    /// answers comes near it (responses are limited to 16 MiB).
    static let maxSize = 64 * 1024 * 1024

    func encoded() -> [UInt8] {
        let body = (try? JSONEncoder().encode(self)).map { [UInt8]($0) } ?? []
        let count = UInt32(body.count)
        return [UInt8(count >> 24), UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)] + body
    }
}

/// Why a stream of frames cannot be read any further.
enum FrameError: Error, Sendable, CustomStringConvertible {
    case closed
    case truncated(Int)
    case oversized(Int)
    case malformed(String)

    var description: String {
        switch self {
        case .closed: "the pipe was closed"
        case .truncated(let count): "the stream ended inside a frame (\(count) bytes of it read)"
        case .oversized(let size): "a frame announced \(size) bytes, more than the \(HostFrame.maxSize) allowed"
        case .malformed(let reason): "a frame is not a valid message: \(reason)"
        }
    }
}

/// Reads frames from a pipe, blocking. One reader per pipe.
final class FrameReader {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0

    init(fd: Int32) {
        self.fd = fd
    }

    /// The next frame; `FrameError.closed` at a clean end of stream.
    func next() throws(FrameError) -> HostFrame {
        try fill(4)
        let header = buffer[start..<start + 4]
        let size = header.reduce(0) { $0 << 8 | Int($1) }
        guard size <= HostFrame.maxSize else { throw .oversized(size) }
        try fill(4 + size)
        let body = Data(buffer[start + 4..<start + 4 + size])
        start += 4 + size
        do {
            return try JSONDecoder().decode(HostFrame.self, from: body)
        } catch {
            throw .malformed(String(describing: error).prefix(300).description)
        }
    }

    private func fill(_ count: Int) throws(FrameError) {
        if start > 0, buffer.count - start < count {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while buffer.count - start < count {
            let read = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if read < 0, errno == EINTR { continue }
            guard read > 0 else {
                let have = buffer.count - start
                throw have == 0 ? .closed : .truncated(have)
            }
            buffer.append(contentsOf: chunk[0..<read])
        }
    }
}

/// Writes whole frames to a pipe; safe to use from several threads.
final class FrameWriter: Sendable {
    /// The descriptor, -1 once closed: a frame must never reach a
    /// descriptor number that was closed and given to someone else.
    private let fd: Mutex<Int32>

    init(fd: Int32) {
        self.fd = Mutex(fd)
    }

    /// False when the other end is gone or the writer was closed.
    @discardableResult
    func send(_ frame: HostFrame) -> Bool {
        let bytes = frame.encoded()
        return fd.withLock { fd in fd >= 0 && FileDescriptorIO.writeAll(fd, bytes) }
    }

    /// Closes the descriptor; later sends fail. Safe to call again.
    func close() {
        fd.withLock { fd in
            if fd >= 0 { Glibc.close(fd) }
            fd = -1
        }
    }
}

enum FileDescriptorIO {
    /// Writes to a socket with MSG_NOSIGNAL: a peer that died must fail the
    /// write, not kill atomd with SIGPIPE.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }
}
