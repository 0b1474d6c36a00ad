import AtomdSpec

/// A job file through YAML composition, decoding and validation: any input
/// either loads or is refused with diagnostics, never a crash or a hang.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let job = try JobLoader.load(bytes: bytes, file: "fuzz.yaml")
        _ = JobPlan(job)
    } catch {
        precondition(!error.diagnostics.isEmpty, "a refusal without a diagnostic")
    }
    return 0
}
