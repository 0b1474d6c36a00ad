@testable import AtomdShell

/// What a step writes to `$ATOMD_OUTPUT`: parsed or refused with a message.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = try? OutputFile.parse(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
