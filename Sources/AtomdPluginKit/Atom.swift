/// One kind of step a plugin offers: `uses: PLUGIN.NAME` in a job.
///
/// Input and output are Codable: atomd passes the step's `with:` as JSON and
/// decodes nothing itself. Conform to `Revertible` and `Checkable` as well
/// to give compensation a revert and atomd a way to ask whether the change
/// is there. A call runs on a thread of its own and may block; poll
/// `call.isCancelled` in long work.
public protocol Atom: Sendable {
    associatedtype Input: Decodable
    associatedtype Output: Codable = NoOutput

    /// The name after the plugin's: [a-z0-9_-]+.
    static var name: String { get }
    /// One line for `atomd plugins`.
    static var summary: String { get }
    /// The input's JSON Schema, shown by `atomd plugins inspect`; nil for none.
    static var inputSchema: String? { get }

    init()

    /// Makes the change; throw to fail the step (`AtomFailure` says more).
    func execute(_ input: Input, call: AtomCall) throws -> Output
}

extension Atom {
    public static var summary: String { "" }
    public static var inputSchema: String? { nil }
}

/// An atom whose change can be undone.
public protocol Revertible: Atom {
    /// Undoes the change. `outputs` is nil when execute failed or was
    /// interrupted before its outputs were recorded: work from the input and
    /// `call.idempotencyKey`, and tolerate "it never happened".
    func revert(_ input: Input, outputs: Output?, call: AtomCall) throws
}

/// An atom that can tell whether its change is present in the world.
public protocol Checkable: Atom {
    func check(_ input: Input, outputs: Output?, call: AtomCall) throws -> Presence
}

/// A check's answer.
public enum Presence: Sendable, Hashable {
    case present
    case absent
    /// The probe cannot tell; say why.
    case unknown(String)
}

/// For atoms with no outputs.
public struct NoOutput: Codable, Sendable, Hashable {
    public init() {}
}
