import AtomdEngine
import Foundation
import Glibc
import Synchronization

/// A step's log file: every line of stdout and stderr with a timestamp and a
/// stream tag. The file is capped: past `cap` bytes the oldest half is
/// dropped (kept in a `.1` file while running, merged at the end with a line
/// saying how much was dropped). The last `tailBytes` stay in memory for the
/// step's result. Memory stays bounded whatever the step prints.
final class StepLog: Sendable {
    let path: String
    private let cap: Int
    private let state: Mutex<State>

    /// Writes are batched: one system call per 64 KiB, not per line. At most
    /// a quarter of the cap, so each half of the log stays within `cap / 2`.
    private let flushSize: Int

    private struct State {
        var fd: Int32
        var pending: [UInt8] = []
        var written = 0
        var dropped = 0
        var rotated = false
        var tail: LineTail
        /// Standard output alone: a `state:` probe's answer.
        var stdout: LineTail
        var clock = LogClock()
    }

    init(path: String, cap: Int = 64 << 20, tailBytes: Int = 64 << 10) throws(ShellError) {
        self.path = path
        self.cap = cap
        flushSize = min(64 << 10, max(1, cap / 4))
        let directory = (path as NSString).deletingLastPathComponent
        // The run's directory usually exists already: one mkdir, no walk.
        if mkdir(directory, 0o700) != 0, errno != EEXIST {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw ShellError("cannot create the log directory \(directory): \(error.localizedDescription)")
            }
        }
        // Never through a link someone placed where the log goes.
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw ShellError("cannot create the step log \(path): \(String(cString: strerror(errno)))")
        }
        state = Mutex(State(fd: fd, tail: LineTail(limit: tailBytes), stdout: LineTail(limit: tailBytes)))
    }

    /// `DIR/RUN/STEP.ATTEMPT[.PHASE].log`: a revert or probe never
    /// overwrites the log of the execute it belongs to.
    static func path(in directory: String, for context: AtomContext) -> String {
        let safe = { (text: String) in
            text.map { $0.isLetter || $0.isNumber || "-_./".contains($0) ? $0 : "_" }.map(String.init).joined()
                .replacingOccurrences(of: "..", with: "_")
        }
        let phase = context.phase == .execute ? "" : "." + context.phase.rawValue
        return "\(directory)/\(safe(context.runID))/\(safe(context.stepPath)).\(context.attempt)\(phase).log"
    }

    func append(_ line: String, stream: String) {
        state.withLock { state in
            state.pending += state.clock.stamp()
            state.pending += " \(stream) | ".utf8
            state.pending += line.utf8
            state.pending.append(UInt8(ascii: "\n"))
            if state.pending.count >= flushSize { flush(&state) }
            state.tail.append(line)
            if stream == "out" { state.stdout.append(line) }
        }
    }

    /// Writes what is pending, so that a reader (`atomd logs -f`) sees
    /// lines of a quiet step soon after they were printed.
    func flushPending() {
        state.withLock { state in
            if !state.pending.isEmpty, state.fd >= 0 { flush(&state) }
        }
    }

    /// The last lines written, at most `tailBytes`.
    var tail: [String] { state.withLock { $0.tail.current } }

    /// The last lines of standard output, at most `tailBytes`.
    var stdoutTail: [String] { state.withLock { $0.stdout.current } }

    /// Flushes and closes the file; merges a rotated older half in front of the newer one.
    func close() {
        state.withLock { state in
            flush(&state)
            Glibc.close(state.fd)
            state.fd = -1
            guard state.rotated else { return }
            mergeRotated(note: "\(String(decoding: state.clock.stamp(), as: UTF8.self)) atomd | \(state.dropped) bytes of older output were dropped (log cap \(cap) bytes)\n")
        }
    }

    /// Writes note + older half + newer half to a new file, 64 KiB at a time
    /// (never the whole log in memory), then renames it over the log.
    private func mergeRotated(note: String) {
        let merged = path + ".merged"
        let output = open(merged, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard output >= 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        func copy(_ bytes: UnsafeRawBufferPointer) {
            var offset = 0
            while offset < bytes.count {
                let count = write(output, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
                guard count > 0 else { return }
                offset += count
            }
        }
        Array(note.utf8).withUnsafeBytes(copy)
        for part in [path + ".1", path] {
            let input = open(part, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard input >= 0 else { continue }
            while true {
                let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
                guard count > 0 else { break }
                buffer.withUnsafeBytes { copy(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            }
            Glibc.close(input)
        }
        Glibc.close(output)
        rename(merged, path)
        unlink(path + ".1")
    }

    private func flush(_ state: inout State) {
        guard !state.pending.isEmpty, state.fd >= 0 else { return }
        if state.written + state.pending.count > cap / 2 { rotate(&state) }
        var offset = 0
        while offset < state.pending.count {
            let count = state.pending[offset...].withUnsafeBytes { write(state.fd, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            offset += count
        }
        state.written += state.pending.count
        state.pending.removeAll(keepingCapacity: true)
    }

    private func rotate(_ state: inout State) {
        Glibc.close(state.fd)
        let older = path + ".1"
        var info = stat()
        if stat(older, &info) == 0 { state.dropped += Int(info.st_size) }
        unlink(older)
        rename(path, older)
        state.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        state.written = 0
        state.rotated = true
    }
}

/// `2026-11-22T12:00:00.123Z`, with the part up to the second formatted once
/// per second: formatting every line from scratch would dominate logging.
struct LogClock {
    private var second: Int = -1
    private var prefix: [UInt8] = []

    mutating func stamp() -> [UInt8] {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        if now.tv_sec != second {
            second = now.tv_sec
            var parts = tm()
            var seconds = now.tv_sec
            gmtime_r(&seconds, &parts)
            prefix = Array(String(format: "%04d-%02d-%02dT%02d:%02d:%02d.", parts.tm_year + 1900, parts.tm_mon + 1,
                                  parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec).utf8)
        }
        let milliseconds = now.tv_nsec / 1_000_000
        return prefix + [UInt8(48 + milliseconds / 100), UInt8(48 + milliseconds / 10 % 10), UInt8(48 + milliseconds % 10),
                         UInt8(ascii: "Z")]
    }
}
