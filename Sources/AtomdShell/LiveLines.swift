/// Forwards one stream's output lines to the run's live display at a bounded rate: a step
/// printing a gigabyte must not flood the terminal or the event stream. The
/// log file gets every line regardless.
struct LiveLines {
    let perSecond: Int
    private var windowStart = ContinuousClock.now
    private var sent = 0
    private var skipped = 0

    init(perSecond: Int = 50) {
        self.perSecond = perSecond
    }

    mutating func offer(_ line: String, send: (String) -> Void) {
        let now = ContinuousClock.now
        if now - windowStart >= .seconds(1) {
            if skipped > 0 { send("[atomd] \(skipped) lines not shown live; the step log has them all") }
            windowStart = now
            sent = 0
            skipped = 0
        }
        guard sent < perSecond else {
            skipped += 1
            return
        }
        sent += 1
        send(line)
    }
}
