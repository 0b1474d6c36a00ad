import Foundation
import Hummingbird

/// The HTTP API over `Cloud`.
enum Routes {
    static func router(cloud: Cloud, faults: Faults) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: FaultMiddleware(faults: faults))

        router.get("healthz") { _, _ in response(Cloud.Reply(status: 200, body: Data("{\"ok\":true}".utf8))) }

        router.post("servers") { request, context in
            let body = try await decode(request, context)
            guard let name = body["name"] as? String else { return response(await cloud.error(400, "name is required")) }
            return response(await cloud.createServer(name: name, zone: body["zone"] as? String, key: key(request, body)))
        }
        router.get("servers") { request, _ in
            let query = request.uri.queryParameters
            guard let limit = query.get("limit").flatMap({ Int($0) }) else { return response(await cloud.listServers()) }
            let after: String? = query.get("after").map { String($0) }
            return response(await cloud.serverPage(limit: limit, after: after))
        }
        router.get("servers/:id") { _, context in response(await cloud.server(try id(context))) }
        router.delete("servers/:id") { request, context in
            response(await cloud.deleteServer(try id(context), key: key(request, nil)))
        }

        router.post("volumes") { request, context in
            let body = try await decode(request, context)
            guard let size = (body["size_gb"] as? NSNumber)?.intValue else {
                return response(await cloud.error(400, "size_gb must be a number"))
            }
            return response(await cloud.createVolume(sizeGB: size, zone: body["zone"] as? String, key: key(request, body)))
        }
        router.get("volumes/:id") { _, context in response(await cloud.volume(try id(context))) }
        router.delete("volumes/:id") { request, context in
            response(await cloud.deleteVolume(try id(context), key: key(request, nil)))
        }

        router.post("servers/:id/attachments") { request, context in
            let body = try await decode(request, context)
            guard let volume = body["volume"] as? String else { return response(await cloud.error(400, "volume is required")) }
            return response(await cloud.attach(server: try id(context), volume: volume, key: key(request, body)))
        }
        router.delete("servers/:id/attachments/:volume") { request, context in
            let volume = try context.parameters.require("volume")
            return response(await cloud.detach(server: try id(context), volume: volume, key: key(request, nil)))
        }
        // The same as an action, the way many APIs spell it (Stripe's
        // POST /v1/…/cancel): a revert that is a POST, like its create.
        router.post("servers/:id/detach") { request, context in
            let body = try await decode(request, context)
            guard let volume = body["volume"] as? String else { return response(await cloud.error(400, "volume is required")) }
            return response(await cloud.detach(server: try id(context), volume: volume, key: key(request, body)))
        }

        router.get("ledger") { _, _ in response(await cloud.ledgerView()) }

        // GET /redirect?to=/path answers 302 to that path.
        router.get("redirect") { request, _ in
            var headers = HTTPFields()
            headers[.location] = request.uri.queryParameters.get("to") ?? "/healthz"
            return Response(status: .found, headers: headers)
        }

        // Echoes the request, for testing clients: method, path, query, headers, body.
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            router.on("echo", method: method) { request, _ in
                let body = try await request.body.collect(upTo: 1 << 20)
                var headers: [String: String] = [:]
                // A header sent twice shows as both values, comma-joined.
                for field in request.headers {
                    headers[field.name.canonicalName] = headers[field.name.canonicalName].map { $0 + ", " + field.value } ?? field.value
                }
                let echo: [String: Any] = [
                    "method": request.method.rawValue, "path": request.uri.path, "query": request.uri.query ?? "",
                    "headers": headers, "body": String(buffer: body),
                ]
                let data = try JSONSerialization.data(withJSONObject: echo, options: [.sortedKeys])
                return response(Cloud.Reply(status: 200, body: data))
            }
        }

        router.post("admin/faults") { request, context in
            let fault = try await request.decode(as: Faults.Fault.self, context: context)
            faults.add(fault)
            return response(Cloud.Reply(status: 204, body: nil))
        }
        router.delete("admin/faults") { _, _ in
            faults.clear()
            return response(Cloud.Reply(status: 204, body: nil))
        }
        return router
    }

    private static func id(_ context: BasicRequestContext) throws -> String {
        try context.parameters.require("id")
    }

    /// The request's key, tied to its method, path and (canonical) body.
    private static func key(_ request: Request, _ body: [String: Any]?) -> Cloud.Key {
        let value = HTTPFields.Element.Name("Idempotency-Key").flatMap { request.headers[$0] }
        let canonical = body.flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]) }
            .map { String(decoding: $0, as: UTF8.self) } ?? ""
        return Cloud.Key(value: value, request: "\(request.method.rawValue) \(request.uri.path) \(canonical)")
    }

    /// A JSON object body; anything else is a 400.
    private static func decode(_ request: Request, _ context: BasicRequestContext) async throws -> [String: Any] {
        let buffer = try await request.body.collect(upTo: 1 << 20)
        let data = Data(buffer: buffer)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw HTTPError(.badRequest, message: "the body must be a JSON object")
        }
        return object
    }

    private static func response(_ reply: Cloud.Reply) -> Response {
        var headers = HTTPFields()
        if reply.body != nil { headers[.contentType] = "application/json" }
        let body = reply.body.map { ResponseBody(byteBuffer: ByteBuffer(bytes: $0)) } ?? ResponseBody()
        return Response(status: .init(code: reply.status), headers: headers, body: body)
    }
}
