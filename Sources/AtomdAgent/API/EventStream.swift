import AtomdEngine
import Foundation
import Hummingbird

/// `GET /runs/ID/events`: server-sent events, the journaled history after
/// `Last-Event-ID` first, then live events until the run is closed (for
/// good: of a run `--retry` reopened, only the last closing is sent). Each
/// event's id is its sequence number, so a client that reconnects with
/// Last-Event-ID misses nothing journaled.
enum EventStream {
    static func response(agent: Agent, runID: String, after: Int, open: Bool) -> Response {
        // Subscribe before reading the journal: an event written in between
        // is in one or the other (duplicates are skipped by sequence).
        let live = open ? agent.events.subscribe(runID: runID) : nil
        let body = ResponseBody { writer in
            let encoder = APIJSON.encoder()
            var last = after
            func send(_ event: EngineEvent) async throws {
                let data = try encoder.encode(APIEvent(event))
                let id = event.kind.isJournaled ? "id: \(event.sequence)\n" : ""
                try await writer.write(ByteBuffer(string: "\(id)event: \(event.kind.name)\ndata: \(String(decoding: data, as: UTF8.self))\n\n"))
            }
            // A run reopened by `atomd rollback --retry` was closed before.
            // Readers end at `closed` (submit --wait, the console), so a
            // closing that later events superseded is not sent: only the
            // last, with nothing after it, which also ends the stream.
            var closing: EngineEvent?
            for event in try await agent.journal.events(of: runID, after: after) {
                last = event.sequence
                if event.kind == .closed {
                    closing = event
                    continue
                }
                closing = nil
                try await send(event)
            }
            if let closing {
                try await send(closing)
                return try await writer.finish(nil)
            }
            if let live {
                for await event in live where !event.kind.isJournaled || event.sequence > last {
                    try await send(event)
                    if event.kind.isJournaled { last = event.sequence }
                    if event.kind == .closed { break }
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }
}

extension EngineEvent.Kind {
    /// Log lines and progress are not journaled (and share the sequence of
    /// the events around them only loosely).
    var isJournaled: Bool {
        switch self {
        case .log, .progress: false
        default: true
        }
    }

    /// The SSE event name.
    var name: String {
        switch self {
        case .run: "run"
        case .step: "step"
        case .log: "log"
        case .progress: "progress"
        case .note: "note"
        case .closed: "closed"
        }
    }
}
