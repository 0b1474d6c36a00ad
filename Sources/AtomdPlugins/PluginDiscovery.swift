import Foundation

/// A plugin file found in a plugin directory, named by its file name.
public struct FoundPlugin: Sendable, Hashable {
    /// `files` for `files.so` or `libfiles.so`.
    public var name: String
    public var path: String
}

/// Lists the plugin files of the configured directories: `NAME.so` and
/// `libNAME.so`, skipping dotfiles and names a job could not spell. The
/// first directory that has a name wins.
struct PluginDiscovery {
    let directories: [String]

    func find() -> (plugins: [FoundPlugin], shadowed: [FoundPlugin]) {
        var plugins: [String: FoundPlugin] = [:]
        var shadowed: [FoundPlugin] = []
        for directory in directories {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for entry in entries.sorted() {
                guard let name = Self.pluginName(fileName: entry) else { continue }
                let found = FoundPlugin(name: name, path: directory + "/" + entry)
                if plugins[name] == nil { plugins[name] = found } else { shadowed.append(found) }
            }
        }
        return (plugins.values.sorted { $0.name < $1.name }, shadowed)
    }

    func find(named name: String) -> FoundPlugin? {
        for directory in directories {
            for candidate in ["\(name).so", "lib\(name).so"] {
                let path = directory + "/" + candidate
                var info = stat()
                if lstat(path, &info) == 0 { return FoundPlugin(name: name, path: path) }
            }
        }
        return nil
    }

    static func pluginName(fileName: String) -> String? {
        guard !fileName.hasPrefix("."), fileName.hasSuffix(".so") else { return nil }
        var name = String(fileName.dropLast(3))
        if name.hasPrefix("lib") { name.removeFirst(3) }
        return PluginABI.isValidName(name) ? name : nil
    }
}
