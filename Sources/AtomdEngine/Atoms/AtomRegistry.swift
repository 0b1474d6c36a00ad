/// Where built-in and plugin atoms register by name. Value type: build it,
/// then hand it to the engine.
public struct AtomRegistry: Sendable {
    private var atoms: [String: any Atom] = [:]

    public init(_ atoms: [any Atom] = []) {
        for atom in atoms { register(atom) }
    }

    /// Adds an atom; a later registration under the same name replaces the earlier one.
    public mutating func register(_ atom: any Atom) {
        atoms[atom.name] = atom
    }

    public subscript(name: String) -> (any Atom)? { atoms[name] }

    public var names: [String] { atoms.keys.sorted() }
}
