import AtomdEngine
import Foundation
import Synchronization

/// The plugins of the configured directories: what `atomd plugins` lists
/// and where jobs get their plugin atoms. Plugins are loaded when first
/// needed, each with its isolation; a loaded plugin stays loaded.
public final class PluginCatalog: Sendable {
    public let settings: PluginSettings
    private let loaded = Mutex<[String: LoadedPlugin]>([:])

    public init(settings: PluginSettings) {
        self.settings = settings
    }

    /// A plugin ready to take calls.
    struct LoadedPlugin: Sendable {
        let found: FoundPlugin
        let descriptor: PluginDescriptor
        let connection: any PluginConnection
    }

    /// The atoms of the plugins `names`, loading each plugin once.
    /// Every plugin that cannot be found or loaded is reported.
    public func atoms(forPlugins names: Set<String>) async throws(PluginLoadErrors) -> [any Atom] {
        var atoms: [any Atom] = []
        var errors: [PluginError] = []
        for name in names.sorted() {
            switch await load(name) {
            case .success(let plugin):
                atoms += plugin.descriptor.atoms.map { PluginAtom(plugin: name, descriptor: $0, connection: plugin.connection) }
            case .failure(let error):
                errors.append(error)
            }
        }
        guard errors.isEmpty else { throw PluginLoadErrors(errors: errors) }
        return atoms
    }

    /// Every plugin file found, loaded (so that its descriptor is known) or
    /// with the reason it could not be.
    public func inventory() async -> [PluginListing] {
        let discovery = PluginDiscovery(directories: settings.directories).find()
        var listings: [PluginListing] = []
        for found in discovery.plugins {
            let result = await load(found.name)
            let digest = (try? PluginFileCheck(settings: settings).open(found.path)).flatMap { try? $0.sha256() }
            listings.append(PluginListing(name: found.name, path: found.path, isolation: settings.isolation(of: found.name),
                                          sha256: digest, descriptor: try? result.get().descriptor,
                                          error: result.failureValue))
        }
        for extra in discovery.shadowed {
            listings.append(PluginListing(name: extra.name, path: extra.path, isolation: settings.isolation(of: extra.name), sha256: nil,
                                          descriptor: nil,
                                          error: PluginError(extra.path, "is shadowed by a plugin of the same name found earlier",
                                                             hint: "remove one of them")))
        }
        return listings
    }

    /// How many plugin hosts were started for `plugin` (isolated plugins only).
    public func hostsStarted(for plugin: String) -> Int? {
        (loaded.withLock { $0[plugin] }?.connection as? HostPool)?.hostsStarted
    }

    /// Lets idle plugin hosts exit.
    public func shutDown() {
        for plugin in loaded.withLock({ Array($0.values) }) { (plugin.connection as? HostPool)?.shutDown() }
    }

    private func load(_ name: String) async -> Result<LoadedPlugin, PluginError> {
        if let plugin = loaded.withLock({ $0[name] }) { return .success(plugin) }
        let settings = settings
        let result = await OwnThread.run { () -> Result<LoadedPlugin, PluginError> in
            guard let found = PluginDiscovery(directories: settings.directories).find(named: name) else {
                return .failure(PluginError(name, "no plugin named '\(name)' in \(settings.directories.joined(separator: ", "))",
                                            hint: "put \(name).so into one of those directories, or fix the name in uses:"))
            }
            do throws(PluginError) {
                switch settings.isolation(of: name) {
                case .inProcess:
                    let file = try PluginFileCheck(settings: settings).open(found.path)
                    let plugin = try NativePlugin.load(fileDescriptor: file.fd, file: found.path, expectedName: name)
                    let connection = InProcessConnection(handler: PluginCallHandler(plugin: plugin), callTimeout: settings.callTimeout,
                                                         cancelGrace: settings.cancelGrace)
                    return .success(LoadedPlugin(found: found, descriptor: plugin.descriptor, connection: connection))
                case .isolated:
                    let (host, descriptor) = try HostPool.launch(found, settings: settings)
                    let pool = HostPool(found: found, first: host, descriptor: descriptor, settings: settings)
                    return .success(LoadedPlugin(found: found, descriptor: descriptor, connection: pool))
                }
            } catch {
                return .failure(error)
            }
        }
        return result.map { plugin in
            loaded.withLock { table in
                if let existing = table[name] {
                    (plugin.connection as? HostPool)?.shutDown()
                    return existing
                }
                table[name] = plugin
                return plugin
            }
        }
    }
}

/// One plugin as `atomd plugins` shows it.
public struct PluginListing: Sendable {
    public var name: String
    public var path: String
    public var isolation: Isolation
    public var sha256: String?
    /// Nil when the plugin could not be loaded.
    public var descriptor: PluginDescriptor?
    public var error: PluginError?
}

/// Every plugin a job needs that could not be loaded.
public struct PluginLoadErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [PluginError]

    public init(errors: [PluginError]) {
        self.errors = errors
    }

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
