import Glibc
import Synchronization

/// How many large answers (a run's detail, its logs) each caller may have
/// built at once. Such an answer is built whole in memory; 32 connections
/// of one user asking for a big run's logs and never reading took the agent
/// to 2 GB. Root and the agent's user are not limited.
final class AnswerSlots: Sendable {
    let perCaller: Int
    private let held = Mutex<[uid_t: Int]>([:])

    init(perCaller: Int) {
        self.perCaller = perCaller
    }

    /// Runs `body` in one of the caller's slots, or refuses with a 429.
    func with<Value: Sendable>(_ caller: PeerCredentials?, _ body: () async throws -> Value) async throws -> Value {
        let uid = caller?.uid ?? uid_t.max
        guard uid != 0, uid != getuid() else { return try await body() }
        let taken = held.withLock { held -> Bool in
            guard held[uid, default: 0] < perCaller else { return false }
            held[uid, default: 0] += 1
            return true
        }
        guard taken else {
            throw APIError(.tooManyRequests, "\(perCaller) large answers for this user are being built already",
                           hint: "wait for them to be read, then ask again")
        }
        defer { held.withLock { held in held[uid] = held[uid].map { $0 > 1 ? $0 - 1 : nil } ?? nil } }
        return try await body()
    }
}
