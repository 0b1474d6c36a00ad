import AtomdEngine

/// The atoms this build of atomd registers.
enum BuiltinAtoms {
    static func registry() -> AtomRegistry {
        AtomRegistry(TestAtoms.all())
    }
}
