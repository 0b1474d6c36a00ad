import AtomdJournal
import Foundation
import HTTPTypes
import Hummingbird

/// A journal that cannot answer (PostgreSQL away) is the service being
/// unavailable, said as such: 503 with the journal's own message, not a
/// bare 500 that the CLI and the console could only call an internal error.
extension JournalError: HTTPResponseError {
    public var status: HTTPResponse.Status { .serviceUnavailable }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var object = ["error": message]
        object["hint"] = hint
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
