import AtomdSpec

extension Template {
    var hasExpressions: Bool {
        parts.contains { if case .expression = $0 { true } else { false } }
    }
}

extension Expression {
    /// The `outputs.KEY` names the expression reads, for revert's "outputs
    /// never recorded" check.
    var outputKeys: [String] {
        var keys: [String] = []
        var stack = [root]
        while let node = stack.popLast() {
            if let path = node.propertyPath, path.context == "outputs", let first = path.names.first {
                keys.append(first.0)
            }
            stack += node.children
        }
        return keys
    }
}
