import Foundation

/// The fake cloud's state: servers, volumes, attachments, quotas, remembered
/// idempotency keys, and a ledger of every create and delete.
///
/// Keys are as strict as Stripe's: a key is tied to the first request that
/// carried it (method, path and body). The same request again gets the first
/// reply and changes nothing; any other request with that key is refused
/// with 422 and changes nothing, so a revert sent with its create's key fails
/// loudly instead of being taken for the create.
actor Cloud {
    struct Server: Codable, Sendable {
        var id: String
        var name: String
        var zone: String?
        var status: String
        var created: Date
    }

    struct Volume: Codable, Sendable {
        var id: String
        var size_gb: Int
        var zone: String?
        var attached_to: String?
    }

    struct LedgerEvent: Codable, Sendable {
        var op: String
        var kind: String
        var id: String
        var idempotency_key: String?
        var time: Date
    }

    /// A reply: status and JSON body (nil for 204).
    struct Reply: Sendable {
        var status: Int
        var body: Data?
    }

    let buildDelay: Duration
    let maxServers: Int
    let maxVolumes: Int
    private var servers: [String: Server] = [:]
    private var volumes: [String: Volume] = [:]
    private var ledger: [LedgerEvent] = []
    private var remembered: [String: (request: String, reply: Reply)] = [:]
    private var counter = 0

    init(buildDelay: Duration, maxServers: Int, maxVolumes: Int) {
        self.buildDelay = buildDelay
        self.maxServers = maxServers
        self.maxVolumes = maxVolumes
    }

    // MARK: Servers

    func createServer(name: String, zone: String?, key: Key) -> Reply {
        idempotent(key) {
            guard servers.count < maxServers else { return error(403, "server quota of \(maxServers) exceeded") }
            let id = nextID("srv")
            servers[id] = Server(id: id, name: name, zone: zone, status: "BUILD", created: Date())
            record("create", "server", id, key.value)
            return json(201, view(servers[id]))
        }
    }

    func server(_ id: String) -> Reply {
        guard let server = servers[id] else { return error(404, "no server \(id)") }
        return json(200, view(server))
    }

    func listServers() -> Reply {
        json(200, servers.values.sorted { $0.id < $1.id }.map(view))
    }

    /// One page of servers in id order: `limit` of them after `after`, and
    /// the token of the next page (empty on the last).
    func serverPage(limit: Int, after: String?) -> Reply {
        let sorted = servers.values.sorted { $0.id < $1.id }.filter { server in after.map { server.id > $0 } ?? true }
        let page = Array(sorted.prefix(max(1, limit)))
        let next = sorted.count > page.count ? page.last?.id ?? "" : ""
        return json(200, ServerPage(servers: page.map(view), next_token: next))
    }

    func deleteServer(_ id: String, key: Key) -> Reply {
        idempotent(key) { deleteServer(id, key: key.value) }
    }

    private func deleteServer(_ id: String, key: String?) -> Reply {
        guard servers[id] != nil else { return error(404, "no server \(id)") }
        if volumes.values.contains(where: { $0.attached_to == id }) {
            return error(409, "server \(id) has attached volumes; detach them first")
        }
        servers[id] = nil
        record("delete", "server", id, key)
        return Reply(status: 204, body: nil)
    }

    /// BUILD turns ACTIVE once the build delay has passed.
    private func view(_ server: Server?) -> Server? {
        guard var server else { return nil }
        if server.status == "BUILD", Date().timeIntervalSince(server.created) >= Double(buildDelay / .milliseconds(1)) / 1000 {
            server.status = "ACTIVE"
        }
        return server
    }

    private func view(_ server: Server) -> Server {
        view(Optional(server)) ?? server
    }

    // MARK: Volumes

    func createVolume(sizeGB: Int, zone: String?, key: Key) -> Reply {
        idempotent(key) {
            guard sizeGB > 0, sizeGB <= 16_384 else { return error(400, "size_gb must be from 1 to 16384") }
            guard volumes.count < maxVolumes else { return error(403, "volume quota of \(maxVolumes) exceeded") }
            let id = nextID("vol")
            volumes[id] = Volume(id: id, size_gb: sizeGB, zone: zone, attached_to: nil)
            record("create", "volume", id, key.value)
            return json(201, volumes[id])
        }
    }

    func volume(_ id: String) -> Reply {
        guard let volume = volumes[id] else { return error(404, "no volume \(id)") }
        return json(200, volume)
    }

    func deleteVolume(_ id: String, key: Key) -> Reply {
        idempotent(key) { deleteVolume(id, key: key.value) }
    }

    private func deleteVolume(_ id: String, key: String?) -> Reply {
        guard let volume = volumes[id] else { return error(404, "no volume \(id)") }
        if let server = volume.attached_to { return error(409, "volume \(id) is attached to \(server)") }
        volumes[id] = nil
        record("delete", "volume", id, key)
        return Reply(status: 204, body: nil)
    }

    // MARK: Attachments

    func attach(server id: String, volume volumeID: String, key: Key) -> Reply {
        idempotent(key) {
            guard let server = servers[id] else { return error(404, "no server \(id)") }
            guard view(server).status == "ACTIVE" else { return error(409, "server \(id) is not ACTIVE yet") }
            guard var volume = volumes[volumeID] else { return error(404, "no volume \(volumeID)") }
            if let other = volume.attached_to {
                return error(409, other == id ? "volume \(volumeID) is already attached to \(id)" : "volume \(volumeID) is attached to \(other)")
            }
            volume.attached_to = id
            volumes[volumeID] = volume
            record("create", "attachment", "\(id)/\(volumeID)", key.value)
            return json(201, ["server": id, "volume": volumeID])
        }
    }

    func detach(server id: String, volume volumeID: String, key: Key) -> Reply {
        idempotent(key) { detach(server: id, volume: volumeID, key: key.value) }
    }

    private func detach(server id: String, volume volumeID: String, key: String?) -> Reply {
        guard var volume = volumes[volumeID], volume.attached_to == id else {
            return error(404, "volume \(volumeID) is not attached to \(id)")
        }
        volume.attached_to = nil
        volumes[volumeID] = volume
        record("delete", "attachment", "\(id)/\(volumeID)", key)
        return Reply(status: 204, body: nil)
    }

    struct ServerPage<Server: Codable>: Codable {
        var servers: [Server]
        var next_token: String
    }

    // MARK: Ledger

    struct LedgerView: Codable {
        struct Live: Codable {
            var servers: [String]
            var volumes: [String]
            var attachments: [String]
        }

        var live: Live
        var events: [LedgerEvent]
    }

    func ledgerView() -> Reply {
        let attachments = volumes.values.compactMap { volume in volume.attached_to.map { "\($0)/\(volume.id)" } }.sorted()
        return json(200, LedgerView(live: .init(servers: servers.keys.sorted(), volumes: volumes.keys.sorted(), attachments: attachments),
                                    events: ledger))
    }

    // MARK: Helpers

    /// A request's `Idempotency-Key` and what the key is tied to: its
    /// method, path and body.
    struct Key: Sendable {
        var value: String?
        var request: String
    }

    /// The same request with the same key returns the first reply and does
    /// nothing; another request with that key is refused (422).
    private func idempotent(_ key: Key, _ change: () -> Reply) -> Reply {
        guard let value = key.value, !value.isEmpty else { return change() }
        if let first = remembered[value] {
            guard first.request == key.request else {
                return error(422, "Idempotency-Key \(value) was first used for \(first.request.prefix(200)); "
                                  + "it cannot be reused for \(key.request.prefix(200))")
            }
            return first.reply
        }
        let reply = change()
        if reply.status < 500 { remembered[value] = (key.request, reply) }
        return reply
    }

    private func nextID(_ prefix: String) -> String {
        counter += 1
        return "\(prefix)-\(counter)"
    }

    private func record(_ op: String, _ kind: String, _ id: String, _ key: String?) {
        ledger.append(LedgerEvent(op: op, kind: kind, id: id, idempotency_key: key, time: Date()))
    }

    func json(_ status: Int, _ value: some Encodable) -> Reply {
        Reply(status: status, body: try? Self.encoder.encode(value))
    }

    func error(_ status: Int, _ message: String) -> Reply {
        json(status, ["error": message])
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()
}
