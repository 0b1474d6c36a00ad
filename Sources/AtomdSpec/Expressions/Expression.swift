/// A parsed `${{ ... }}` expression.
public struct Expression: Sendable, Hashable {
    /// The text between `${{` and `}}`, trimmed.
    public var source: String
    public var root: ExpressionNode
    /// Where the expression's first character is in the file.
    public var location: SourceLocation

    public init(source: String, root: ExpressionNode, location: SourceLocation) {
        self.source = source
        self.root = root
        self.location = location
    }

    /// The file position of a node, from its offset in the source.
    public func location(of node: ExpressionNode) -> SourceLocation {
        location.advanced(by: node.offset)
    }
}

/// A node of an expression's syntax tree; `offset` is in characters from the
/// start of the expression, for error positions.
public struct ExpressionNode: Sendable, Hashable {
    public indirect enum Kind: Sendable, Hashable {
        case literal(JSONValue)
        /// A context name at the root of a property path (`vars`, `steps`...).
        case context(String)
        case member(ExpressionNode, String)
        case index(ExpressionNode, ExpressionNode)
        case call(String, [ExpressionNode])
        case not(ExpressionNode)
        case binary(BinaryOperator, ExpressionNode, ExpressionNode)
    }

    public enum BinaryOperator: String, Sendable, Hashable {
        case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<="
        case greater = ">", greaterOrEqual = ">=", and = "&&", or = "||"
    }

    public var kind: Kind
    public var offset: Int

    public init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    /// The static property path of a node such as `steps.web.outputs['id']`:
    /// the context name and the names after it, up to the first dynamic part.
    public var propertyPath: (context: String, names: [(String, Int)], isComplete: Bool)? {
        switch kind {
        case .context(let name):
            return (name, [], true)
        case .member(let base, let name):
            guard let path = base.propertyPath else { return nil }
            return path.isComplete ? (path.context, path.names + [(name, offset)], true) : path
        case .index(let base, let key):
            guard let path = base.propertyPath else { return nil }
            if path.isComplete, case .literal(.string(let name)) = key.kind {
                return (path.context, path.names + [(name, offset)], true)
            }
            return (path.context, path.names, false)
        default:
            return nil
        }
    }

    /// Direct children, for walks over the tree.
    public var children: [ExpressionNode] {
        switch kind {
        case .literal, .context: []
        case .member(let base, _): [base]
        case .index(let base, let key): [base, key]
        case .call(_, let arguments): arguments
        case .not(let operand): [operand]
        case .binary(_, let lhs, let rhs): [lhs, rhs]
        }
    }
}

extension ExpressionNode {
    /// Whether the expression reads the context `name` anywhere.
    public func reads(context name: String) -> Bool {
        switch kind {
        case .literal: false
        case .context(let context): context == name
        case .member(let base, _): base.reads(context: name)
        case .index(let base, let index): base.reads(context: name) || index.reads(context: name)
        case .call(_, let arguments): arguments.contains { $0.reads(context: name) }
        case .not(let operand): operand.reads(context: name)
        case .binary(_, let left, let right): left.reads(context: name) || right.reads(context: name)
        }
    }
}
