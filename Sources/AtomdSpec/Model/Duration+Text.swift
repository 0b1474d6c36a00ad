extension Duration {
    /// Durations from job files are at most this (a year): beyond it, a
    /// timeout or delay is a typo, and sums of them must not overflow.
    public static let longestInJob: Duration = .seconds(366 * 86_400)

    /// Parses durations as job files write them: `500ms`, `10s`, `2m`, `1h`,
    /// `30d`, or a combination in decreasing order such as `1h30m`.
    public init?(jobText text: String) {
        let units: [(suffix: String, milliseconds: Int64)] = [("ms", 1), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)]
        var rest = Substring(text)
        var total: Int64 = 0
        var lastRank = -1
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix(while: \.isASCIIDigit)
            guard !digits.isEmpty, digits.count <= 9, let amount = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            guard let unit = units.first(where: { rest.hasPrefix($0.suffix) }) else { return nil }
            let rank = ["d", "h", "m", "s", "ms"].firstIndex(of: unit.suffix) ?? 0
            guard rank > lastRank else { return nil }
            lastRank = rank
            rest = rest.dropFirst(unit.suffix.count)
            total += amount * unit.milliseconds
        }
        self = .milliseconds(total)
    }

    /// The shortest job-file spelling of the duration (`90s` prints as `1m30s`).
    public var jobText: String {
        var milliseconds = components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
        if milliseconds == 0 { return "0s" }
        var text = ""
        for (suffix, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)] where milliseconds >= size {
            text += "\(milliseconds / size)\(suffix)"
            milliseconds %= size
        }
        return text
    }
}
