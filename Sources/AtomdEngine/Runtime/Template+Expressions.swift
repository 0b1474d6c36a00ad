import AtomdSpec

extension Template {
    var hasExpressions: Bool {
        parts.contains { if case .expression = $0 { true } else { false } }
    }
}

/// A value of the step's own record that a revert or check reads.
enum RecordRead: Hashable {
    /// `outputs.KEY`
    case output(String)
    /// `state.before.KEY` / `state.after.KEY`
    case state(String, String)
}

extension Expression {
    /// The `outputs.KEY` and `state.WHEN.KEY` the expression reads, for
    /// revert's "never recorded" check.
    var recordReads: [RecordRead] {
        var reads: [RecordRead] = []
        var stack = [root]
        while let node = stack.popLast() {
            if let path = node.propertyPath {
                let names = path.names.map(\.0)
                if path.context == "outputs", let key = names.first { reads.append(.output(key)) }
                if path.context == "state", names.count >= 2 { reads.append(.state(names[0], names[1])) }
            }
            stack += node.children
        }
        return reads
    }
}
