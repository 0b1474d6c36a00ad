import Foundation
import Hummingbird
import Synchronization

/// Injected failures: the next `count` requests matching `route` ("POST
/// /volumes", segments may be `*`) get `status` (or `latency_ms` first).
final class Faults: Sendable {
    struct Fault: Codable, Sendable {
        var route: String
        var status: Int?
        var count: Int?
        var latency_ms: Int?
        /// Abort the response after its headers: the client sees a dropped connection.
        var drop: Bool?
        /// Serve the request (its effect is made), then hold the answer this
        /// long: a client with a shorter timeout never learns of the effect.
        var late_ms: Int?
    }

    private let faults = Mutex<[Fault]>([])

    func add(_ fault: Fault) {
        faults.withLock { $0.append(fault) }
    }

    func clear() {
        faults.withLock { $0.removeAll() }
    }

    /// The fault to apply to this request, counting it down.
    func take(method: String, path: String) -> Fault? {
        faults.withLock { faults in
            guard let index = faults.firstIndex(where: { Self.matches($0.route, method: method, path: path) }) else { return nil }
            let fault = faults[index]
            if let count = fault.count {
                if count <= 1 { faults.remove(at: index) } else { faults[index].count = count - 1 }
            }
            return fault
        }
    }

    static func matches(_ route: String, method: String, path: String) -> Bool {
        let parts = route.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0] == method else { return false }
        let pattern = parts[1].split(separator: "/"), segments = path.split(separator: "/")
        return pattern.count == segments.count && zip(pattern, segments).allSatisfy { $0 == "*" || $0 == $1 }
    }
}

struct FaultMiddleware<Context: RequestContext>: RouterMiddleware {
    let faults: Faults

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !request.uri.path.hasPrefix("/admin"),
              let fault = faults.take(method: request.method.rawValue, path: request.uri.path)
        else { return try await next(request, context) }
        if let latency = fault.latency_ms { try await Task.sleep(for: .milliseconds(latency)) }
        if let late = fault.late_ms {
            let response = try await next(request, context)
            try await Task.sleep(for: .milliseconds(late))
            return response
        }
        if fault.drop == true {
            var headers = HTTPFields()
            headers[.contentLength] = "1000"
            return Response(status: .ok, headers: headers, body: ResponseBody { _ in throw DroppedConnection() })
        }
        guard let status = fault.status else { return try await next(request, context) }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if status == 429 || status == 503, let retryAfter = HTTPFields.Element.Name("Retry-After") { headers[retryAfter] = "1" }
        let body = Data("{\"error\":\"injected fault\"}".utf8)
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Thrown mid-response so the server aborts the connection.
struct DroppedConnection: Error {}
