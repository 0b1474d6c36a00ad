import AtomdEngine
import AtomdSpec
import Synchronization

/// `probe.cell`: named cells of text, a world small enough to see whole.
/// Execute writes `value` into `cell` (and then fails when `fail` is true);
/// as a `state:` probe it reports `{"value": …}` and changes nothing.
final class CellAtom: Atom {
    let name = "probe.cell"
    private let cells: Mutex<[String: String]>

    init(_ cells: [String: String] = [:]) {
        self.cells = Mutex(cells)
    }

    subscript(cell: String) -> String? { cells.withLock { $0[cell] } }

    /// Someone else changes a cell behind the run's back.
    func set(_ cell: String, _ value: String) { cells.withLock { $0[cell] = value } }

    func execute(_ input: JSONValue, context: AtomContext) async throws -> AtomResult {
        cells.withLock { $0[input["cell"].interpolated] = input["value"].interpolated }
        if input["fail"] == .bool(true) { throw AtomError("failed after writing the cell") }
        return AtomResult()
    }

    func state(_ input: JSONValue, context: AtomContext) async throws -> JSONValue {
        .object(["value": .string(self[input["cell"].interpolated] ?? "")])
    }
}

/// A step that writes `value` into cell `x`, probes the cell as its state,
/// and reverts by writing back the value it found before.
func cellStep(_ id: String, value: String, fail: Bool = false) -> String {
    """
      - id: \(id)
        uses: probe.cell
        with: { cell: x, value: \(value), fail: \(fail) }
        state: { uses: probe.cell, with: { cell: x } }
        revert: { uses: probe.cell, with: { cell: x, value: "${{ state.before.value }}" } }

    """
}
