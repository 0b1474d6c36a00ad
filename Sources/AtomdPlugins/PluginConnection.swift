import Foundation
import Synchronization

/// How calls reach a plugin: straight into this process or through a
/// plugin host. Both end in `PluginCallHandler`.
public protocol PluginConnection: Sendable {
    /// Answers every call, even when the plugin cannot: a crash, a hang or
    /// a cancelled call become a failed reply.
    func call(_ request: PluginRequest, sink: CallSink) async -> PluginReply
}

/// A plugin loaded into the agent. A call runs on a thread of its own; a
/// call that does not stop when cancelled, or outlives the call timeout, is
/// abandoned (its thread cannot be killed) and reported failed.
struct InProcessConnection: PluginConnection {
    let handler: PluginCallHandler
    let callTimeout: Duration
    let cancelGrace: Duration

    func call(_ request: PluginRequest, sink: CallSink) async -> PluginReply {
        let latch = ReplyLatch()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                latch.arm(continuation)
                Thread.detachNewThread { latch.resolve(handler.handle(request, sink: sink)) }
                Thread.detachNewThread { [callTimeout] in
                    if latch.wait(for: callTimeout) { return }
                    latch.resolve(.failure("the in-process plugin did not answer within \(callTimeout); its call was abandoned"))
                }
            }
        } onCancel: {
            sink.cancel()
            Thread.detachNewThread { [cancelGrace] in
                if latch.wait(for: cancelGrace) { return }
                latch.resolve(.failure("the in-process plugin did not stop within \(cancelGrace) of being cancelled; its call was abandoned"))
            }
        }
    }
}

/// Resumes a continuation once, with the first reply that arrives.
final class ReplyLatch: Sendable {
    private struct State {
        var continuation: CheckedContinuation<PluginReply, Never>?
        var reply: PluginReply?
    }

    private let state = Mutex(State())
    private let done = DispatchSemaphore(value: 0)

    func arm(_ continuation: CheckedContinuation<PluginReply, Never>) {
        let early = state.withLock { state -> PluginReply? in
            if let reply = state.reply { return reply }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(returning: early) }
    }

    func resolve(_ reply: PluginReply) {
        let continuation = state.withLock { state -> CheckedContinuation<PluginReply, Never>?? in
            guard state.reply == nil else { return .none }
            state.reply = reply
            defer { state.continuation = nil }
            return .some(state.continuation)
        }
        guard case .some(let waiting) = continuation else { return }
        done.signal()
        waiting?.resume(returning: reply)
    }

    /// True when a reply came within `limit` (call from a thread of its own).
    func wait(for limit: Duration) -> Bool {
        guard done.wait(timeout: .now() + limit.seconds) == .success else { return false }
        done.signal()
        return true
    }
}
