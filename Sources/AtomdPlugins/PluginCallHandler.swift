import AtomdSpec
import CAtomdPlugin
import Foundation

/// Calls a loaded plugin's atom with a request and turns what it returns
/// into a reply. The one message handler both isolation modes share: the
/// plugin host runs it for each frame, the in-process path directly. It
/// blocks for as long as the plugin does: run it on a thread of its own.
public struct PluginCallHandler: Sendable {
    public let plugin: NativePlugin

    /// Responses larger than this are refused rather than parsed.
    static let maxResponse = 16 * 1024 * 1024

    public init(plugin: NativePlugin) {
        self.plugin = plugin
    }

    public func handle(_ request: PluginRequest, sink: CallSink) -> PluginReply {
        let name = plugin.descriptor.name
        guard let atom = plugin.atoms[request.atom] else {
            return .failure("plugin '\(name)' has no atom '\(request.atom)'", retryable: false)
        }
        let function: atomd_atom_fn?
        switch request.operation {
        case .execute: function = atom.execute
        case .revert: function = atom.flags & UInt32(ATOMD_ATOM_REVERT) != 0 ? atom.revert : nil
        case .check: function = atom.flags & UInt32(ATOMD_ATOM_CHECK) != 0 ? atom.check : nil
        }
        guard let function else {
            return .failure("\(name).\(request.atom) has no \(request.operation.rawValue)", retryable: false)
        }
        let strings = OwnedBytes([request.atom, request.runID, request.stepPath, request.idempotencyKey,
                                  request.input.json, request.outputs?.json ?? "null"])
        var call = atomd_call(
            struct_size: UInt32(MemoryLayout<atomd_call>.size), attempt: UInt32(clamping: request.attempt),
            atom: strings[0], run_id: strings[1], step_path: strings[2], idempotency_key: strings[3],
            atom_user_data: atom.user_data, host: HostTable.pointer, host_private: Unmanaged.passUnretained(sink).toOpaque())
        var response: UnsafeMutablePointer<CChar>?
        var length = 0
        let status = withExtendedLifetime((sink, strings)) {
            function(&call, strings[4], strings[5], &response, &length)
        }
        defer { free(response) }
        return reply(status: status, response: response, length: length)
    }

    private func reply(status: atomd_status, response: UnsafeMutablePointer<CChar>?, length: Int) -> PluginReply {
        let mapped: PluginReply.Status = switch status {
        case ATOMD_OK: .ok
        case ATOMD_ABSENT: .absent
        case ATOMD_UNKNOWN: .unknown
        default: .failed
        }
        guard let response, length > 0 else { return PluginReply(status: mapped, response: nil) }
        guard length <= Self.maxResponse else {
            return .failure("the plugin returned \(length) bytes; responses are limited to \(Self.maxResponse)")
        }
        let data = Data(bytes: response, count: length)
        if let value = try? JSONDecoder().decode(JSONValue.self, from: data) {
            return PluginReply(status: mapped, response: value)
        }
        let text = String(decoding: data, as: UTF8.self)
        guard mapped == .ok else { return PluginReply(status: mapped, response: .object(["message": .string(text)])) }
        return .failure("the plugin's response is not JSON: \(text.prefix(200))")
    }
}

/// UTF-8 copies of strings as `atomd_bytes`, freed with the value.
private final class OwnedBytes {
    private var buffers: [UnsafeMutableRawBufferPointer] = []

    init(_ strings: [String]) {
        for string in strings {
            let bytes = Array(string.utf8)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
            buffer.copyBytes(from: bytes)
            buffers.append(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<bytes.count]))
        }
    }

    subscript(index: Int) -> atomd_bytes {
        let buffer = buffers[index]
        return atomd_bytes(data: buffer.baseAddress?.assumingMemoryBound(to: CChar.self), length: buffer.count)
    }

    deinit {
        for buffer in buffers { buffer.deallocate() }
    }
}
