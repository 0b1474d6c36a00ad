import CAtomdPlugin

/// The `atomd_host` table every plugin receives. The functions find the
/// call's `CallSink` through `host_private`, which the handler sets to an
/// unretained reference that outlives the call.
enum HostTable {
    /// Written once, when first used, and never again; plugins only read it.
    nonisolated(unsafe) static let pointer: UnsafePointer<atomd_host> = {
        let table = UnsafeMutablePointer<atomd_host>.allocate(capacity: 1)
        table.initialize(to: atomd_host(
            struct_size: UInt32(MemoryLayout<atomd_host>.size),
            abi_major: UInt16(ATOMD_ABI_MAJOR),
            abi_minor: UInt16(ATOMD_ABI_MINOR),
            log: { call, line, length in
                guard let sink = sink(of: call), let line else { return }
                sink.log(text(line, length))
            },
            progress: { call, fraction, note, length in
                guard let sink = sink(of: call), fraction.isFinite else { return }
                sink.progress(min(max(fraction, 0), 1), note.map { text($0, length) })
            },
            cancelled: { call in
                guard let sink = sink(of: call) else { return 1 }
                return sink.isCancelled ? 1 : 0
            }))
        return UnsafePointer(table)
    }()

    private static func sink(of call: UnsafePointer<atomd_call>?) -> CallSink? {
        guard let call, let raw = call.pointee.host_private else { return nil }
        return Unmanaged<CallSink>.fromOpaque(raw).takeUnretainedValue()
    }

    /// Log lines longer than this are cut: a plugin cannot flood the log with one call.
    static let maxLine = 64 * 1024

    private static func text(_ bytes: UnsafePointer<CChar>, _ length: Int) -> String {
        let count = min(max(length, 0), maxLine)
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: count), as: UTF8.self)
    }
}
