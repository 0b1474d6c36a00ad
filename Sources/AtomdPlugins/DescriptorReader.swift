import AtomdSpec
import CAtomdPlugin
import Foundation

/// Reads and checks the `atomd_plugin` a plugin's entry returned, field by
/// field, before anything trusts it: magic, sizes, ABI major, names,
/// function pointers, schemas.
struct DescriptorReader {
    let file: String

    /// The most atoms one plugin may declare, and the longest text read from it.
    static let maxAtoms = 1024
    static let maxText = 256 * 1024

    func read(_ raw: UnsafeRawPointer) throws(PluginError) -> (PluginDescriptor, [String: atomd_atom]) {
        let magic = raw.loadUnaligned(as: UInt64.self)
        guard magic == PluginABI.magic else {
            throw PluginError(file, "the entry returned something that is not an atomd_plugin descriptor (magic 0x\(String(magic, radix: 16)))",
                              hint: "set magic to ATOMD_PLUGIN_MAGIC from atomd_plugin.h")
        }
        let size = Int(raw.loadUnaligned(fromByteOffset: MemoryLayout<atomd_plugin>.offset(of: \.struct_size) ?? 8, as: UInt32.self))
        let major = Int(raw.loadUnaligned(fromByteOffset: MemoryLayout<atomd_plugin>.offset(of: \.abi_major) ?? 12, as: UInt16.self))
        let minor = Int(raw.loadUnaligned(fromByteOffset: MemoryLayout<atomd_plugin>.offset(of: \.abi_minor) ?? 14, as: UInt16.self))
        guard major == PluginABI.major else {
            throw PluginError(file, "the plugin was built for plugin ABI \(major).\(minor); this atomd speaks ABI \(PluginABI.major).\(PluginABI.minor)",
                              hint: "rebuild the plugin against the atomd_plugin.h of this atomd")
        }
        guard size >= MemoryLayout<atomd_plugin>.size else {
            throw PluginError(file, "the descriptor's struct_size is \(size) bytes; ABI 1.0 needs at least \(MemoryLayout<atomd_plugin>.size)",
                              hint: "set struct_size = sizeof(atomd_plugin)")
        }
        let plugin = raw.assumingMemoryBound(to: atomd_plugin.self).pointee
        let name = try text(plugin.name, "the plugin's name", required: true)
        guard PluginABI.isValidName(name) else {
            throw PluginError(file, "the plugin's name '\(name)' is not valid", hint: "use lowercase letters, digits, '_' and '-' (at most 64)")
        }
        let version = try text(plugin.version, "the plugin's version", required: true)
        let summary = try text(plugin.description, "the plugin's description", required: false)
        let count = Int(plugin.atom_count)
        guard count <= Self.maxAtoms else {
            throw PluginError(file, "the plugin declares \(count) atoms; at most \(Self.maxAtoms) are allowed")
        }
        let stride = Int(plugin.atom_struct_size)
        guard count == 0 || stride >= MemoryLayout<atomd_atom>.size else {
            throw PluginError(file, "atom_struct_size is \(stride) bytes; ABI 1.0 needs at least \(MemoryLayout<atomd_atom>.size)",
                              hint: "set atom_struct_size = sizeof(atomd_atom)")
        }
        var atoms: [AtomDescriptor] = []
        var table: [String: atomd_atom] = [:]
        if count > 0 {
            guard let base = UnsafeRawPointer(plugin.atoms) else {
                throw PluginError(file, "the plugin declares \(count) atoms but its atom table is NULL")
            }
            for index in 0..<count {
                let entry = base.advanced(by: index * stride)
                let atomSize = Int(entry.loadUnaligned(as: UInt32.self))
                guard atomSize >= MemoryLayout<atomd_atom>.size else {
                    throw PluginError(file, "atom #\(index + 1): struct_size is \(atomSize) bytes; ABI 1.0 needs at least \(MemoryLayout<atomd_atom>.size)",
                                      hint: "set struct_size = sizeof(atomd_atom) in every atom")
                }
                let (descriptor, checked) = try read(entry.assumingMemoryBound(to: atomd_atom.self).pointee, index: index)
                guard table[descriptor.name] == nil else {
                    throw PluginError(file, "the atom '\(descriptor.name)' is declared twice", hint: "give every atom of a plugin its own name")
                }
                table[descriptor.name] = checked
                atoms.append(descriptor)
            }
        }
        return (PluginDescriptor(name: name, version: version, summary: summary, abiMajor: major, abiMinor: minor, atoms: atoms), table)
    }

    private func read(_ atom: atomd_atom, index: Int) throws(PluginError) -> (AtomDescriptor, atomd_atom) {
        let name = try text(atom.name, "atom #\(index + 1)'s name", required: true)
        guard PluginABI.isValidName(name) else {
            throw PluginError(file, "atom #\(index + 1)'s name '\(name)' is not valid", hint: "use lowercase letters, digits, '_' and '-' (at most 64)")
        }
        let canRevert = atom.flags & UInt32(ATOMD_ATOM_REVERT) != 0
        let canCheck = atom.flags & UInt32(ATOMD_ATOM_CHECK) != 0
        guard atom.execute != nil else { throw PluginError(file, "atom '\(name)' has no execute function") }
        guard !canRevert || atom.revert != nil else {
            throw PluginError(file, "atom '\(name)' sets ATOMD_ATOM_REVERT but its revert function is NULL")
        }
        guard !canCheck || atom.check != nil else {
            throw PluginError(file, "atom '\(name)' sets ATOMD_ATOM_CHECK but its check function is NULL")
        }
        var schema: JSONValue?
        let schemaText = try text(atom.input_schema, "atom '\(name)''s input_schema", required: false)
        if !schemaText.isEmpty {
            guard let parsed = try? JSONDecoder().decode(JSONValue.self, from: Data(schemaText.utf8)), case .object = parsed else {
                throw PluginError(file, "atom '\(name)''s input_schema is not a JSON object", hint: "give a JSON Schema, or NULL")
            }
            schema = parsed
        }
        let summary = try text(atom.description, "atom '\(name)''s description", required: false)
        return (AtomDescriptor(name: name, summary: summary, inputSchema: schema, canRevert: canRevert, canCheck: canCheck), atom)
    }

    private func text(_ pointer: UnsafePointer<CChar>?, _ what: String, required: Bool) throws(PluginError) -> String {
        guard let pointer else {
            if required { throw PluginError(file, "\(what) is NULL") }
            return ""
        }
        let length = strnlen(pointer, Self.maxText + 1)
        guard length <= Self.maxText else { throw PluginError(file, "\(what) is longer than \(Self.maxText) bytes") }
        guard let value = String(validating: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self) else {
            throw PluginError(file, "\(what) is not valid UTF-8")
        }
        if required, value.isEmpty { throw PluginError(file, "\(what) is empty") }
        return value
    }
}
