import AtomdEngine
import AtomdHTTP
import AtomdShell

/// The atoms this build of atomd registers.
enum BuiltinAtoms {
    /// Step logs go under `home/logs`.
    static func registry(home: String) -> AtomRegistry {
        var registry = AtomRegistry(TestAtoms.all())
        registry.register(ShellAtom(supervisor: ProcessSupervisor(logDirectory: home + "/logs")))
        registry.register(HTTPAtom())
        return registry
    }
}
