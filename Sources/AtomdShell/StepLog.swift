import Foundation
import Synchronization

/// A step's log file: every line of stdout and stderr with a timestamp and a
/// stream tag. The file is capped: past `cap` bytes the oldest half is
/// dropped (kept in a `.1` file while running, merged at the end with a line
/// saying how much was dropped). The last `tailBytes` stay in memory for the
/// step's result. Memory stays bounded whatever the step prints.
final class StepLog: Sendable {
    let path: String
    private let cap: Int
    private let tailBytes: Int
    private let state: Mutex<State>

    private struct State {
        var handle: FileHandle?
        var written = 0
        var dropped = 0
        var rotated = false
        var tail: [String] = []
        var tailSize = 0
    }

    init(path: String, cap: Int = 64 << 20, tailBytes: Int = 64 << 10) throws(ShellError) {
        self.path = path
        self.cap = cap
        self.tailBytes = tailBytes
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ShellError("cannot create the log directory \(directory): \(error.localizedDescription)")
        }
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o640]),
              let handle = FileHandle(forWritingAtPath: path)
        else {
            throw ShellError("cannot create the step log \(path)")
        }
        state = Mutex(State(handle: handle))
    }

    func append(_ line: String, stream: String) {
        let stamped = "\(Self.timestamp()) \(stream) | \(line)\n"
        let data = Data(stamped.utf8)
        state.withLock { state in
            if state.written + data.count > cap / 2 { rotate(&state) }
            state.handle?.write(data)
            state.written += data.count
            state.tail.append(line)
            state.tailSize += line.utf8.count + 1
            while state.tailSize > tailBytes, !state.tail.isEmpty {
                state.tailSize -= state.tail.removeFirst().utf8.count + 1
            }
        }
    }

    /// The last lines written, at most `tailBytes`.
    var tail: [String] { state.withLock { $0.tail } }

    /// Closes the file; merges a rotated older half in front of the newer one.
    func close() {
        state.withLock { state in
            try? state.handle?.close()
            state.handle = nil
            guard state.rotated else { return }
            let older = path + ".1"
            let note = Data("\(Self.timestamp()) atomd | \(state.dropped) bytes of older output were dropped (log cap \(cap) bytes)\n".utf8)
            var merged = note
            merged.append(FileManager.default.contents(atPath: older) ?? Data())
            merged.append(FileManager.default.contents(atPath: path) ?? Data())
            _ = FileManager.default.createFile(atPath: path, contents: merged, attributes: [.posixPermissions: 0o640])
            try? FileManager.default.removeItem(atPath: older)
        }
    }

    private func rotate(_ state: inout State) {
        try? state.handle?.close()
        let older = path + ".1"
        if let previous = try? FileManager.default.attributesOfItem(atPath: older)[.size] as? Int {
            state.dropped += previous
        }
        try? FileManager.default.removeItem(atPath: older)
        try? FileManager.default.moveItem(atPath: path, toPath: older)
        _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o640])
        state.handle = FileHandle(forWritingAtPath: path)
        state.written = 0
        state.rotated = true
    }

    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var parts = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec, now.tv_nsec / 1_000_000)
    }
}
