/// Runs `body` for each id once every id it waits for has finished
/// successfully, at most `limit` at once. Counting is incremental: each
/// finished id decrements the counters of the ids waiting for it, so the
/// cost is O(1) per edge, never a re-walk. Used to run graph and parallel
/// groups and, with the edges reversed, to compensate them.
///
/// After a failure, or when `mayStart` says no, nothing new starts; what
/// runs finishes. `beforeWaiting` runs each time it waits for a body to
/// end (the engine stores outcomes then). Returns whether every id ran and
/// succeeded.
func inDependencyOrder(
    _ ids: [String], waitingFor: [String: [String]], limit: Int,
    mayStart: @escaping () async -> Bool = { true },
    onFailure: @escaping () -> Void = {},
    beforeWaiting: () async -> Void,
    _ body: @escaping @Sendable (String) async -> Bool
) async -> Bool {
    var waiting: [String: Int] = [:]
    var released: [String: [String]] = [:]
    for id in ids {
        let blockers = waitingFor[id] ?? []
        waiting[id] = blockers.count
        for blocker in blockers { released[blocker, default: []].append(id) }
    }
    // A queue: append at the end, take from `head`; no O(n) inserts.
    var ready = ids.filter { waiting[$0] == 0 }
    var head = 0
    var stopped = false
    var allSucceeded = true
    var finished = 0
    await withTaskGroup(of: (String, Bool).self) { group in
        var running = 0
        while true {
            while !stopped, running < limit, head < ready.count {
                guard await mayStart() else {
                    stopped = true
                    break
                }
                let next = ready[head]
                head += 1
                running += 1
                group.addTask { (next, await body(next)) }
            }
            await beforeWaiting()
            guard let (id, succeeded) = await group.next() else { break }
            running -= 1
            finished += 1
            guard succeeded else {
                allSucceeded = false
                stopped = true
                onFailure()
                continue
            }
            for waiter in released[id] ?? [] {
                waiting[waiter, default: 1] -= 1
                if waiting[waiter] == 0 { ready.append(waiter) }
            }
        }
    }
    return allSucceeded && finished == ids.count
}
