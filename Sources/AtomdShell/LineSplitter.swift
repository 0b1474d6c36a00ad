/// Cuts a byte stream into lines without ever holding more than `maxLine`
/// bytes: a line longer than that is emitted in pieces, so a step printing a
/// gigabyte without a newline cannot grow memory.
struct LineSplitter {
    let maxLine: Int
    private var pending: [UInt8] = []

    init(maxLine: Int = 16 << 10) {
        self.maxLine = maxLine
    }

    mutating func feed(_ bytes: UnsafeRawBufferPointer, emit: (String) -> Void) {
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                flush(emit)
            } else {
                pending.append(byte)
                if pending.count >= maxLine { flush(emit) }
            }
        }
    }

    mutating func finish(_ emit: (String) -> Void) {
        if !pending.isEmpty { flush(emit) }
    }

    private mutating func flush(_ emit: (String) -> Void) {
        if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
        emit(String(decoding: pending, as: UTF8.self))
        pending.removeAll(keepingCapacity: true)
    }
}
