import CAtomdPlugin
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A plugin: its name, version and atoms. Export it from the one C symbol
/// atomd looks for:
///
/// ```swift
/// @_cdecl("atomd_plugin_entry_v1")
/// public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? {
///     Plugin(name: "files", version: "1.0.0", atoms: [Write.self, Symlink.self]).export()
/// }
/// ```
public struct Plugin: Sendable {
    public var name: String
    public var version: String
    public var summary: String
    let atoms: [AtomBox]

    public init(name: String, version: String, summary: String = "", atoms: [any Atom.Type]) {
        self.name = name
        self.version = version
        self.summary = summary
        self.atoms = atoms.map { AtomBox($0) }
    }

    /// The `atomd_plugin` descriptor, built once per call and kept for the
    /// life of the process, as the ABI requires.
    public func export() -> UnsafeRawPointer? {
        let table = UnsafeMutablePointer<atomd_atom>.allocate(capacity: max(atoms.count, 1))
        for (index, box) in atoms.enumerated() {
            var flags: UInt32 = 0
            if box.revert != nil { flags |= UInt32(ATOMD_ATOM_REVERT) }
            if box.check != nil { flags |= UInt32(ATOMD_ATOM_CHECK) }
            (table + index).initialize(to: atomd_atom(
                struct_size: UInt32(MemoryLayout<atomd_atom>.size), flags: flags,
                name: strdup(box.name), description: strdup(box.summary), input_schema: box.inputSchema.map { strdup($0) } ?? nil,
                execute: Thunks.execute, revert: box.revert == nil ? nil : Thunks.revert, check: box.check == nil ? nil : Thunks.check,
                user_data: Unmanaged.passRetained(box).toOpaque()))
        }
        let plugin = UnsafeMutablePointer<atomd_plugin>.allocate(capacity: 1)
        plugin.initialize(to: atomd_plugin(
            magic: 0x474C_5044_444D_4F54, struct_size: UInt32(MemoryLayout<atomd_plugin>.size),
            abi_major: UInt16(ATOMD_ABI_MAJOR), abi_minor: UInt16(ATOMD_ABI_MINOR),
            name: strdup(name), version: strdup(version), description: strdup(summary),
            atom_count: UInt32(atoms.count), atom_struct_size: UInt32(MemoryLayout<atomd_atom>.size), atoms: UnsafePointer(table)))
        return UnsafeRawPointer(plugin)
    }
}

/// The C functions in every atom's table; each finds its `AtomBox` through
/// `user_data`. A thrown error becomes ATOMD_FAILED with its message.
enum Thunks {
    static let execute: atomd_atom_fn = { call, input, _, response, length in
        run(call, response, length) { box, call in
            (try box.execute(data(input), call), ATOMD_OK)
        }
    }

    static let revert: atomd_atom_fn = { call, input, outputs, response, length in
        run(call, response, length) { box, call in
            try box.revert?(data(input), data(outputs), call)
            return (nil, ATOMD_OK)
        }
    }

    static let check: atomd_atom_fn = { call, input, outputs, response, length in
        run(call, response, length) { box, call in
            switch try box.check?(data(input), data(outputs), call) ?? .unknown("no check") {
            case .present: return (nil, ATOMD_OK)
            case .absent: return (nil, ATOMD_ABSENT)
            case .unknown(let reason): return (JSONCoding.failure(AtomFailure(reason)), ATOMD_UNKNOWN)
            }
        }
    }

    private static func run(_ call: UnsafePointer<atomd_call>?, _ response: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                            _ length: UnsafeMutablePointer<Int>?,
                            _ body: (AtomBox, AtomCall) throws -> (Data?, atomd_status)) -> atomd_status {
        guard let call, let raw = call.pointee.atom_user_data else { return ATOMD_FAILED }
        let box = Unmanaged<AtomBox>.fromOpaque(raw).takeUnretainedValue()
        let answer: Data?
        let status: atomd_status
        do {
            (answer, status) = try body(box, AtomCall(call))
        } catch {
            (answer, status) = (JSONCoding.failure(error), ATOMD_FAILED)
        }
        if let answer, let response, let length, let buffer = malloc(max(answer.count, 1)) {
            answer.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress { buffer.copyMemory(from: base, byteCount: bytes.count) }
            }
            response.pointee = buffer.assumingMemoryBound(to: CChar.self)
            length.pointee = answer.count
        }
        return status
    }

    private static func data(_ bytes: atomd_bytes) -> Data {
        guard let pointer = bytes.data else { return Data("null".utf8) }
        return Data(bytes: pointer, count: bytes.length)
    }
}
