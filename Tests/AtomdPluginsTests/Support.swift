import AtomdEngine
import AtomdPlugins
import AtomdSpec
import AtomdTestSupport
import Foundation
import Synchronization
import Testing

/// Log lines an atom call wrote.
final class CapturedLog: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    func append(_ line: String) { lines.withLock { $0.append(line) } }
}

/// Settings for a plugin directory holding the built plugins `names`; the
/// plugin host is the built atomd.
func settings(_ names: [String], inProcess: Set<String> = []) throws -> PluginSettings {
    PluginSettings(directories: [try PluginFixtures.pluginDirectory(names)], inProcess: inProcess,
                   hostExecutable: PluginFixtures.atomdBinary)
}

/// The atom `qualified` (PLUGIN.ATOM) from a catalog.
func atom(_ qualified: String, in catalog: PluginCatalog) async throws -> any Atom {
    let plugin = String(qualified.split(separator: ".")[0])
    let atoms = try await catalog.atoms(forPlugins: [plugin])
    return try #require(atoms.first { $0.name == qualified }, "no \(qualified) among \(atoms.map(\.name))")
}

func context(_ log: CapturedLog = CapturedLog(), key: String = "run-1/step/1") -> AtomContext {
    AtomContext(runID: "run-1", stepPath: "step", attempt: 1, idempotencyKey: key, log: { log.append($0) })
}

/// The message of the AtomError `body` throws.
func failure(_ body: () async throws -> Void) async -> AtomError? {
    do {
        try await body()
        return nil
    } catch let error as AtomError {
        return error
    } catch {
        return AtomError("unexpected \(type(of: error)): \(error)")
    }
}

/// Both isolation modes, for tests that must hold in each.
let bothModes: [Isolation] = [.isolated, .inProcess]
