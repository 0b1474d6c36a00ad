import Foundation

/// The fake cloud's state: servers, volumes, attachments, quotas, remembered
/// idempotent creates, and a ledger of every create and delete.
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
    private var remembered: [String: Reply] = [:]
    private var counter = 0

    init(buildDelay: Duration, maxServers: Int, maxVolumes: Int) {
        self.buildDelay = buildDelay
        self.maxServers = maxServers
        self.maxVolumes = maxVolumes
    }

    // MARK: Servers

    func createServer(name: String, zone: String?, key: String?) -> Reply {
        idempotent(key, route: "POST /servers") {
            guard servers.count < maxServers else { return error(403, "server quota of \(maxServers) exceeded") }
            let id = nextID("srv")
            servers[id] = Server(id: id, name: name, zone: zone, status: "BUILD", created: Date())
            record("create", "server", id, key)
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

    func deleteServer(_ id: String, key: String?) -> Reply {
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

    func createVolume(sizeGB: Int, zone: String?, key: String?) -> Reply {
        idempotent(key, route: "POST /volumes") {
            guard sizeGB > 0, sizeGB <= 16_384 else { return error(400, "size_gb must be from 1 to 16384") }
            guard volumes.count < maxVolumes else { return error(403, "volume quota of \(maxVolumes) exceeded") }
            let id = nextID("vol")
            volumes[id] = Volume(id: id, size_gb: sizeGB, zone: zone, attached_to: nil)
            record("create", "volume", id, key)
            return json(201, volumes[id])
        }
    }

    func volume(_ id: String) -> Reply {
        guard let volume = volumes[id] else { return error(404, "no volume \(id)") }
        return json(200, volume)
    }

    func deleteVolume(_ id: String, key: String?) -> Reply {
        guard let volume = volumes[id] else { return error(404, "no volume \(id)") }
        if let server = volume.attached_to { return error(409, "volume \(id) is attached to \(server)") }
        volumes[id] = nil
        record("delete", "volume", id, key)
        return Reply(status: 204, body: nil)
    }

    // MARK: Attachments

    func attach(server id: String, volume volumeID: String, key: String?) -> Reply {
        idempotent(key, route: "POST /servers/\(id)/attachments") {
            guard let server = servers[id] else { return error(404, "no server \(id)") }
            guard view(server).status == "ACTIVE" else { return error(409, "server \(id) is not ACTIVE yet") }
            guard var volume = volumes[volumeID] else { return error(404, "no volume \(volumeID)") }
            if let other = volume.attached_to {
                return error(409, other == id ? "volume \(volumeID) is already attached to \(id)" : "volume \(volumeID) is attached to \(other)")
            }
            volume.attached_to = id
            volumes[volumeID] = volume
            record("create", "attachment", "\(id)/\(volumeID)", key)
            return json(201, ["server": id, "volume": volumeID])
        }
    }

    func detach(server id: String, volume volumeID: String, key: String?) -> Reply {
        guard var volume = volumes[volumeID], volume.attached_to == id else {
            return error(404, "volume \(volumeID) is not attached to \(id)")
        }
        volume.attached_to = nil
        volumes[volumeID] = volume
        record("delete", "attachment", "\(id)/\(volumeID)", key)
        return Reply(status: 204, body: nil)
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

    /// A repeated create with the same key returns the first reply and creates nothing.
    private func idempotent(_ key: String?, route: String, _ create: () -> Reply) -> Reply {
        guard let key, !key.isEmpty else { return create() }
        let scoped = "\(route) \(key)"
        if let first = remembered[scoped] { return first }
        let reply = create()
        if reply.status < 500 { remembered[scoped] = reply }
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
