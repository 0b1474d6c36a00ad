/// The last lines of a stream, at most `limit` bytes: a queue whose live
/// part is `lines[head...]`, compacted now and then, so appending stays
/// O(1) amortized whatever a step prints.
struct LineTail {
    let limit: Int
    private var lines: [String] = []
    private var head = 0
    private var size = 0

    init(limit: Int) {
        self.limit = limit
    }

    mutating func append(_ line: String) {
        lines.append(line)
        size += line.utf8.count + 1
        while size > limit, head < lines.count {
            size -= lines[head].utf8.count + 1
            head += 1
        }
        if head > 4096, head * 2 > lines.count {
            lines.removeFirst(head)
            head = 0
        }
    }

    var current: [String] { Array(lines[head...]) }
}
