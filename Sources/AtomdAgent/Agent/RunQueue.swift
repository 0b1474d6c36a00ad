/// Claimed jobs waiting for a run slot, in order of arrival; recovered runs
/// go first. At most `limit` runs at once.
struct RunQueue: Sendable {
    enum Entry: Sendable, Hashable {
        /// A claimed file (in processing/) that has not run.
        case start(file: String)
        /// A journaled run of a claimed file, cut short by a restart.
        case resume(file: String, runID: String)

        var file: String {
            switch self {
            case .start(let file), .resume(let file, _): file
            }
        }
    }

    private(set) var waiting: [Entry] = []
    var limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    mutating func append(_ entry: Entry) {
        guard !waiting.contains(where: { $0.file == entry.file }) else { return }
        waiting.append(entry)
    }

    /// The next entry to start, if `running` leaves a slot free.
    mutating func next(running: Int) -> Entry? {
        guard running < limit, !waiting.isEmpty else { return nil }
        return waiting.removeFirst()
    }

    var count: Int { waiting.count }
}
