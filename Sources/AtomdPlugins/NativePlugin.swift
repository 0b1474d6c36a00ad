import AtomdSpec
import CAtomdPlugin
import Foundation

/// A plugin loaded into this process with `dlopen`: its checked descriptor
/// and its atom table. Never unloaded (DESIGN.md section 6: no `dlclose`).
public final class NativePlugin: @unchecked Sendable {
    // Sendable because nothing here changes after `load`: the descriptor is a
    // value and the atom table holds the plugin's function pointers, which
    // the ABI requires to be callable from any thread.
    public let descriptor: PluginDescriptor
    let atoms: [String: atomd_atom]

    private init(descriptor: PluginDescriptor, atoms: [String: atomd_atom]) {
        self.descriptor = descriptor
        self.atoms = atoms
    }

    private typealias Entry = @convention(c) (UnsafePointer<atomd_host>?) -> UnsafeRawPointer?

    /// Loads the plugin open as `descriptor` through `/proc/self/fd/N`, so
    /// that the file loaded is the very file that was checked. `file` names
    /// it in errors; `expectedName` is the name its file name promises.
    public static func load(fileDescriptor: Int32, file: String, expectedName: String?) throws(PluginError) -> NativePlugin {
        // glibc knows a loaded library by the name it was opened with, so a
        // later plugin opened through a reused descriptor number would get
        // this one back. The copy keeps its number taken for good, as the
        // library stays loaded for good.
        let pinned = fcntl(fileDescriptor, F_DUPFD_CLOEXEC, 10)
        guard pinned >= 0 else {
            throw PluginError(file, "cannot be loaded: \(String(cString: strerror(errno)))")
        }
        guard let handle = dlopen("/proc/self/fd/\(pinned)", RTLD_NOW | RTLD_LOCAL) else {
            close(pinned)
            let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
            throw PluginError(file, "cannot be loaded: \(reason)", hint: "is it a shared library built for this machine (cc -shared -fPIC)?")
        }
        guard let symbol = dlsym(handle, PluginABI.entrySymbol) else {
            throw PluginError(file, "exports no \(PluginABI.entrySymbol)",
                              hint: "an atomd plugin defines atomd_plugin_entry_v1 from atomd_plugin.h (with default visibility)")
        }
        let entry = unsafeBitCast(symbol, to: Entry.self)
        guard let raw = entry(HostTable.pointer) else {
            throw PluginError(file, "\(PluginABI.entrySymbol) returned NULL: the plugin refused to start", hint: "its message, if any, is above")
        }
        let (descriptor, atoms) = try DescriptorReader(file: file).read(raw)
        if let expectedName, descriptor.name != expectedName {
            throw PluginError(file, "the file is named for plugin '\(expectedName)' but declares plugin '\(descriptor.name)'",
                              hint: "name the file \(descriptor.name).so or lib\(descriptor.name).so")
        }
        return NativePlugin(descriptor: descriptor, atoms: atoms)
    }
}
