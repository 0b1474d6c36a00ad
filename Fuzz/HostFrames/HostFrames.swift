import Glibc
@testable import AtomdPlugins

/// Bytes a plugin host sends back, through a pipe, read frame by frame as
/// the agent reads them: every frame decodes or fails with a FrameError.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // A pipe holds 64 KiB: more would block the write (run with -max_len).
    guard size <= 60_000 else { return 0 }
    var ends: [Int32] = [-1, -1]
    guard pipe(&ends) == 0 else { return 0 }
    _ = write(ends[1], data, size)
    close(ends[1])
    let reader = FrameReader(fd: ends[0])
    while (try? reader.next()) != nil {}
    close(ends[0])
    return 0
}
