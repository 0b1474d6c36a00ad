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
        let timeout = Task { [callTimeout] in
            guard (try? await Task.sleep(for: callTimeout)) != nil else { return }
            latch.resolve(.failure("the in-process plugin did not answer within \(callTimeout); its call was abandoned"))
        }
        defer { timeout.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                latch.arm(continuation)
                OwnThread.start { latch.resolve(handler.handle(request, sink: sink)) }
            }
        } onCancel: { [cancelGrace] in
            sink.cancel()
            Task {
                try? await Task.sleep(for: cancelGrace)
                latch.resolve(.failure("the in-process plugin did not stop within \(cancelGrace) of being cancelled; its call was abandoned"))
            }
        }
    }
}

/// Resumes a continuation once, with the first reply that arrives; later
/// replies (a plugin that answers after its call was abandoned) are dropped.
final class ReplyLatch: Sendable {
    private struct State {
        var continuation: CheckedContinuation<PluginReply, Never>?
        var reply: PluginReply?
    }

    private let state = Mutex(State())

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
        waiting?.resume(returning: reply)
    }
}
