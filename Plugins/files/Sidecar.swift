import AtomdPluginKit
import Foundation

/// Where an atom keeps what its revert needs beside the file it changes:
/// `DIR/.NAME.atomd-KIND-HASH`, named after the run and step (not the
/// attempt), so that a revert finds it even when atomd was interrupted
/// before the outputs were recorded, and a retry keeps the first original.
enum Sidecar {
    /// `.NAME.atomd-KIND-HASH`, in the directory that holds `name`.
    static func name(for name: String, kind: String, call: AtomCall) -> String {
        ".\(name).atomd-\(kind)-\(stepHash(call))"
    }

    static func path(for target: String, kind: String, call: AtomCall) -> String {
        let directory = (target as NSString).deletingLastPathComponent
        return "\(directory)/\(name(for: (target as NSString).lastPathComponent, kind: kind, call: call))"
    }

    /// FNV-1a of RUN/STEP-PATH, in hex: the same for the step's execute
    /// and its revert, whose idempotency keys differ.
    static func stepHash(_ call: AtomCall) -> String {
        let step = "\(call.runID)/\(call.stepPath)"
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in step.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01B3
        }
        return String(hash, radix: 16)
    }
}
