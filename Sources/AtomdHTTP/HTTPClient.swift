import CCurl
import Foundation
import Synchronization

/// A small HTTP client over libcurl. Each transfer runs on a thread of its
/// own, never on Swift's cooperative pool; cancelling the calling task aborts
/// it at once. Easy handles are pooled, and with them their connections, so
/// steps that talk to the same API reuse connections.
public final class HTTPClient: Sendable {
    /// Idle easy handles. A curl handle is not Sendable; each handle is used
    /// by one transfer at a time, handed over through this lock.
    private let pool = Mutex<[HandleBox]>([])

    private struct HandleBox: @unchecked Sendable {
        // Safe: a box is either in the pool (owned by the lock) or owned by
        // exactly one transfer thread; it is never shared.
        let handle: UnsafeMutableRawPointer
    }

    private static let globalInit: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    public init() {
        _ = Self.globalInit
    }

    deinit {
        for box in pool.withLock({ $0 }) { curl_easy_cleanup(box.handle) }
    }

    public func send(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
        guard let box = takeHandle() else { throw HTTPError(.other, "libcurl could not create a transfer") }
        let state = TransferState(limit: request.maxResponseBytes)
        let result: Result<HTTPResponse, HTTPError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let thread = Thread {
                    let result = CurlTransfer.perform(request, handle: box.handle, state: state)
                    self.returnHandle(box)
                    continuation.resume(returning: result)
                }
                thread.name = "atomd-http"
                thread.start()
            }
        } onCancel: {
            state.cancelled.store(true, ordering: .relaxed)
        }
        return try result.get()
    }

    private func takeHandle() -> HandleBox? {
        if let box = pool.withLock({ $0.popLast() }) { return box }
        return curl_easy_init().map(HandleBox.init)
    }

    private func returnHandle(_ box: HandleBox) {
        pool.withLock { $0.append(box) }
    }
}
