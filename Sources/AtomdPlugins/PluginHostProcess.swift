import Foundation
import Synchronization

/// A running `atomd plugin-host`, seen from the agent. Two threads of its
/// own read its frames and its standard error; callers block in `call` on
/// threads of their own, never on the cooperative pool.
final class PluginHostProcess: @unchecked Sendable {
    // Sendable because every mutable field is read and written only with
    // `condition` held, except `errors`, a Mutex; `pid`, `file`, `writer`
    // and `errorFD` never change.
    let pid: pid_t
    let file: String
    private let writer: FrameWriter
    private let condition = NSCondition()
    private var descriptor: PluginDescriptor?
    private var refusal: PluginError?
    /// Why the host can no longer serve; set once.
    private var ended: String?
    private var replies: [UInt64: PluginReply] = [:]
    private var sinks: [UInt64: CallSink] = [:]
    private var nextID: UInt64 = 1
    private var stderrTail: [String] = []
    private var killedBySignal = false
    private let errorFD: Int32
    /// Splits the host's stderr; held while reading it, so that a reply and
    /// the reader thread drain it one at a time, in order.
    private let errors = Mutex(ErrorStream())

    private struct ErrorStream {
        var lines = LineBuffer()
        var ended = false
    }

    /// Starts a host for the plugin open as `pluginFD`.
    static func launch(executable: String, arguments: [String], pluginFD: Int32, file: String) throws(PluginError) -> PluginHostProcess {
        // A crash is reported as one line with its signal; Swift's backtracer
        // would flood the step's log with the host's threads instead.
        let child = try ProcessSpawn.spawn(executable: executable, arguments: arguments,
                                           environment: ["SWIFT_BACKTRACE": "enable=no"], extraFD: pluginFD)
        let host = PluginHostProcess(child: child, file: file)
        Thread.detachNewThread { host.readFrames(FrameReader(fd: child.output), fd: child.output) }
        Thread.detachNewThread { host.readErrors() }
        return host
    }

    private init(child: ProcessSpawn.Child, file: String) {
        pid = child.pid
        errorFD = child.errors
        // Non-blocking: both the reader thread and a call that got its
        // reply drain it, and neither may block while holding `errors`.
        _ = fcntl(child.errors, F_SETFL, fcntl(child.errors, F_GETFL) | O_NONBLOCK)
        writer = FrameWriter(fd: child.input)
        self.file = file
    }

    /// Waits for the host's hello; a host that refuses, dies or stays silent is killed.
    func handshake(timeout: Duration) throws(PluginError) -> PluginDescriptor {
        let limit = Date.now.addingTimeInterval(timeout.seconds)
        condition.lock()
        while descriptor == nil, refusal == nil, ended == nil {
            if !condition.wait(until: limit), Date.now >= limit { break }
        }
        let result = (descriptor, refusal, ended)
        condition.unlock()
        if let hello = result.0 { return hello }
        kill()
        if let refusal = result.1 { throw refusal }
        throw PluginError(file, "the plugin host \(result.2 ?? "did not start within \(timeout)")" + stderrNote())
    }

    enum Outcome: Sendable {
        case replied(PluginReply)
        /// The host crashed, hung or broke the protocol; it is dead now.
        case hostFailed(String)
        /// The host was gone before the call reached it (it died while
        /// idle): the plugin never saw the call, so another host may take it.
        case notDelivered
    }

    /// Sends the request and waits for the reply, the host's end, the
    /// deadline, or, once `sink` is cancelled, a grace period.
    func call(_ request: PluginRequest, sink: CallSink, deadline: Date, grace: Duration) -> Outcome {
        condition.lock()
        let id = nextID
        nextID += 1
        sinks[id] = sink
        condition.unlock()
        defer { condition.withLock { _ = sinks.removeValue(forKey: id) } }

        var frame = HostFrame(.call, id: id)
        frame.request = request
        guard writer.send(frame) else {
            kill(reason: "closed its input")
            return .notDelivered
        }
        var cancelSent = false
        var graceLimit = Date.distantFuture
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let reply = replies.removeValue(forKey: id) {
                // What the plugin wrote to stderr before it returned is in the
                // pipe by now: deliver it while the call's log still listens.
                condition.unlock()
                drainErrors()
                condition.lock()
                return .replied(reply)
            }
            if let ended {
                // The host has exited: all it wrote to stderr is in the pipe,
                // though the reader thread may not have got to it yet.
                condition.unlock()
                drainErrors()
                condition.lock()
                return .hostFailed("the plugin host \(ended)" + stderrNoteLocked())
            }
            if sink.isCancelled, !cancelSent {
                cancelSent = true
                graceLimit = Date.now.addingTimeInterval(grace.seconds)
                condition.unlock()
                writer.send(HostFrame(.cancel, id: id))
                condition.lock()
                continue
            }
            let limit = min(deadline, graceLimit)
            if !condition.wait(until: limit), Date.now >= limit {
                let reason = limit == deadline
                    ? "did not answer within its deadline and was killed"
                    : "did not stop within \(grace) of being cancelled and was killed"
                condition.unlock()
                kill(reason: reason)
                condition.lock()
            }
        }
    }

    /// Wakes a waiting `call` so that it notices a cancelled sink.
    func wake() { condition.withLock { condition.broadcast() } }

    /// Whether the host can take another call.
    var isAlive: Bool { condition.withLock { ended == nil } }

    /// The host's resident memory, from /proc.
    var residentBytes: Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Kills the host and its process group. The frame reader reaps it.
    func kill(reason: String = "was stopped") {
        condition.withLock {
            if ended == nil { ended = reason }
            condition.broadcast()
        }
        Glibc.kill(-pid, SIGKILL)
    }

    /// Lets an idle host exit by closing its input.
    func shutDown() {
        condition.withLock {
            if ended == nil { ended = "was shut down" }
        }
        writer.close()
    }

    private func readFrames(_ reader: FrameReader, fd: Int32) {
        var failure: String?
        while failure == nil {
            do {
                let frame = try reader.next()
                condition.withLock { receive(frame) }
            } catch .closed {
                failure = ""
            } catch {
                failure = "sent a broken frame (\(error)) and was killed"
                Glibc.kill(-pid, SIGKILL)
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        close(fd)
        let exit = ProcessSpawn.describe(waitStatus: status)
        let reason = failure.flatMap { $0.isEmpty ? nil : $0 }
            ?? (status & 0x7F != 0 ? "crashed (\(exit))" : "ended unexpectedly (\(exit))")
        condition.withLock {
            if ended == nil {
                ended = reason
                killedBySignal = failure?.isEmpty != false && status & 0x7F != 0
            }
            condition.broadcast()
        }
    }

    /// "; its last output: ..." when the host wrote to stderr.
    var exitNote: String {
        drainErrors()
        return stderrNote()
    }

    /// Whether the host died of a signal of its own (not one atomd sent).
    var crashed: Bool { condition.withLock { killedBySignal } }

    /// Called with `condition` held.
    private func receive(_ frame: HostFrame) {
        switch frame.kind {
        case .hello:
            descriptor = frame.descriptor
        case .refused:
            refusal = PluginError(file, frame.message ?? "refused to load", hint: frame.hint)
        case .log:
            if let id = frame.id, let line = frame.message { sinks[id]?.log(line) }
        case .progress:
            if let id = frame.id, let fraction = frame.fraction { sinks[id]?.progress(fraction, frame.message) }
        case .result:
            if let id = frame.id, let reply = frame.reply, sinks[id] != nil { replies[id] = reply }
        case .call, .cancel:
            break
        }
        condition.broadcast()
    }

    /// The plugin's stderr goes to the log of the call it is serving, and
    /// its last lines explain a crash.
    private func readErrors() {
        var waiting = pollfd(fd: errorFD, events: Int16(POLLIN), revents: 0)
        while true {
            let ready = poll(&waiting, 1, -1)
            if ready < 0, errno == EINTR { continue }
            guard ready > 0, !drainErrors() else { break }
        }
        // Marked ended under the lock first: no drain may read the number
        // once it is closed and perhaps reused.
        errors.withLock { $0.ended = true }
        close(errorFD)
    }

    /// Reads what the host's stderr holds now; true at its end.
    @discardableResult
    private func drainErrors() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        return errors.withLock { stream in
            while !stream.ended {
                let count = chunk.withUnsafeMutableBytes { read(errorFD, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                if count < 0, errno == EAGAIN { break }
                guard count > 0 else {
                    stream.ended = true
                    if let rest = stream.lines.finish() { deliver(rest) }
                    break
                }
                for line in stream.lines.append(chunk[0..<count]) { deliver(line) }
            }
            return stream.ended
        }
    }

    private func deliver(_ line: String) {
        let current = condition.withLock { () -> [CallSink] in
            stderrTail.append(line)
            if stderrTail.count > 5 { stderrTail.removeFirst() }
            return Array(sinks.values)
        }
        for sink in current { sink.log(line) }
    }

    private func stderrNote() -> String { condition.withLock { stderrNoteLocked() } }

    private func stderrNoteLocked() -> String {
        stderrTail.isEmpty ? "" : "; its last output: " + stderrTail.joined(separator: " | ")
    }
}

extension Duration {
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
