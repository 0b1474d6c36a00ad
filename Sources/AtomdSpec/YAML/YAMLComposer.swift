import CYAML

/// Builds a `YAMLNode` tree from libyaml parser events in one pass.
///
/// Composing here rather than with a YAML library's own tree is what makes hostile input
/// cheap to refuse: each alias is charged the full size of the subtree it
/// repeats at the moment it is seen, so a "billion laughs" file stops after at
/// most `maxNodes` units of work; non-scalar mapping keys (which a
/// composer into dictionaries would hash, expanding them) are refused before any hashing happens.
struct YAMLComposer {
    let file: String
    let limits: YAMLLimits

    private var stack: [Frame] = []
    private var anchors: [String: Anchored] = [:]
    private var nodeCount = 0
    private var root: YAMLNode?
    private var documents = 0

    private struct Anchored {
        var node: YAMLNode
        var size: Int
    }

    private struct Frame {
        var location: SourceLocation
        var anchor: String?
        var countAtStart: Int
        var isMapping: Bool
        var items: [YAMLNode] = []
        var pairs: [YAMLNode.Pair] = []
        var pendingKey: YAMLNode?
        var seenKeys: [String: SourceLocation] = [:]
    }

    init(file: String, limits: YAMLLimits) {
        self.file = file
        self.limits = limits
    }

    /// Parses `bytes` (UTF-8) into a single document's root node.
    static func compose(_ bytes: [UInt8], file: String, limits: YAMLLimits) throws(Diagnostic) -> YAMLNode {
        guard let root = try composeDocument(bytes, file: file, limits: limits) else {
            throw Diagnostic(file: file, location: .start, message: "the file is empty", hint: "a job starts with 'version: 1'")
        }
        return root
    }

    /// The single document's root node, or nil when there is none (only
    /// blank lines and comments): for files where empty means all defaults.
    static func composeDocument(_ bytes: [UInt8], file: String, limits: YAMLLimits) throws(Diagnostic) -> YAMLNode? {
        guard bytes.count <= limits.maxBytes else {
            throw Diagnostic(
                file: file, location: .start,
                message: "the file is \(bytes.count) bytes; job files are limited to \(limits.maxBytes) bytes",
                hint: "split the job or move large data into files the steps read")
        }
        var composer = YAMLComposer(file: file, limits: limits)
        return try composer.run(bytes)
    }

    private mutating func run(_ bytes: [UInt8]) throws(Diagnostic) -> YAMLNode? {
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        defer { parser.deallocate() }
        guard yaml_parser_initialize(parser) != 0 else {
            throw fail(.start, "out of memory while starting the YAML parser")
        }
        defer { yaml_parser_delete(parser) }

        let result: Result<YAMLNode?, Diagnostic> = bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(parser, buffer.baseAddress, buffer.count)
            yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
            var event = yaml_event_t()
            while true {
                guard yaml_parser_parse(parser, &event) != 0 else {
                    return .failure(parserError(parser.pointee))
                }
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { break }
                do throws(Diagnostic) {
                    try handle(event)
                } catch {
                    return .failure(error)
                }
            }
            return .success(root)
        }
        return try result.get()
    }

    private func parserError(_ parser: yaml_parser_t) -> Diagnostic {
        let problem = parser.problem.map { String(cString: $0) } ?? "unknown error"
        var message = "invalid YAML: \(problem)"
        if let context = parser.context.map({ String(cString: $0) }) {
            message += " (\(context) at \(Self.location(parser.context_mark)))"
        }
        return fail(Self.location(parser.problem_mark), message)
    }

    private func fail(_ location: SourceLocation, _ message: String, hint: String? = nil) -> Diagnostic {
        Diagnostic(file: file, location: location, message: message, hint: hint)
    }

    private static func location(_ mark: yaml_mark_t) -> SourceLocation {
        SourceLocation(line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: UnsafePointer($0)) }
    }

    private mutating func handle(_ event: yaml_event_t) throws(Diagnostic) {
        let location = Self.location(event.start_mark)
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            if documents > 1 {
                throw fail(location, "a job file holds one YAML document, but a second one starts here",
                           hint: "put each job in its own file")
            }
        case YAML_SCALAR_EVENT:
            let data = event.data.scalar
            try checkTag(Self.string(data.tag), at: location)
            let text = String(decoding: UnsafeBufferPointer(start: data.value, count: data.length), as: UTF8.self)
            let scalar = YAMLNode.Scalar(text: text, style: Self.style(data.style), tag: Self.string(data.tag))
            try count(1, at: location)
            try finish(YAMLNode(.scalar(scalar), at: location), anchor: Self.string(data.anchor), size: 1)
        case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
            let isMapping = event.type == YAML_MAPPING_START_EVENT
            let tag = Self.string(isMapping ? event.data.mapping_start.tag : event.data.sequence_start.tag)
            let anchor = Self.string(isMapping ? event.data.mapping_start.anchor : event.data.sequence_start.anchor)
            try checkTag(tag, at: location)
            guard stack.count < limits.maxDepth else {
                throw fail(location, "nesting is deeper than \(limits.maxDepth) levels",
                           hint: "flatten the structure")
            }
            try count(1, at: location)
            if let parent = stack.last, parent.isMapping, parent.pendingKey == nil {
                throw fail(location, "a mapping key must be a plain string, not a list or mapping")
            }
            stack.append(Frame(location: location, anchor: anchor, countAtStart: nodeCount - 1, isMapping: isMapping))
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard let frame = stack.popLast() else { return }
            let node = YAMLNode(frame.isMapping ? .mapping(frame.pairs) : .sequence(frame.items), at: frame.location)
            try finish(node, anchor: frame.anchor, size: nodeCount - frame.countAtStart)
        case YAML_ALIAS_EVENT:
            let name = Self.string(event.data.alias.anchor) ?? ""
            guard let anchored = anchors[name] else {
                throw fail(location, "alias '*\(name)' refers to no anchor defined before it",
                           hint: "define '&\(name)' earlier in the file")
            }
            try count(anchored.size, at: location)
            var copy = anchored.node
            copy.location = location
            try finish(copy, anchor: nil, size: anchored.size)
        default:
            break
        }
    }

    private mutating func count(_ nodes: Int, at location: SourceLocation) throws(Diagnostic) {
        nodeCount += nodes
        if nodeCount > limits.maxNodes {
            throw fail(location, "the document expands to more than \(limits.maxNodes) nodes (aliases count as copies)",
                       hint: "this looks like an alias bomb; remove the nested aliases")
        }
    }

    private func checkTag(_ tag: String?, at location: SourceLocation) throws(Diagnostic) {
        guard let tag, tag != "!" else { return }
        let allowed = ["str", "int", "float", "bool", "null", "seq", "map"].map { "tag:yaml.org,2002:\($0)" }
        guard allowed.contains(tag) else {
            let shown = tag.hasPrefix("tag:yaml.org,2002:") ? "!!" + tag.dropFirst("tag:yaml.org,2002:".count) : tag
            throw fail(location, "custom tag '\(shown)' is not allowed",
                       hint: "job files use plain YAML values; remove the tag")
        }
    }

    private mutating func finish(_ node: YAMLNode, anchor: String?, size: Int) throws(Diagnostic) {
        if let anchor {
            anchors[anchor] = Anchored(node: node, size: size)
        }
        guard var parent = stack.popLast() else {
            root = node
            return
        }
        defer { stack.append(parent) }
        guard parent.isMapping else {
            parent.items.append(node)
            return
        }
        guard let key = parent.pendingKey else {
            guard case .scalar(let scalar) = node.kind else {
                throw fail(node.location, "a mapping key must be a plain string, not \(node.kindName)")
            }
            if let first = parent.seenKeys[scalar.text] {
                throw fail(node.location, "duplicate key '\(scalar.text)' (first defined at line \(first.line))",
                           hint: "remove one of them")
            }
            parent.seenKeys[scalar.text] = node.location
            parent.pendingKey = node
            return
        }
        parent.pairs.append(YAMLNode.Pair(key: key, value: node))
        parent.pendingKey = nil
    }

    private static func style(_ style: yaml_scalar_style_t) -> YAMLNode.Scalar.Style {
        switch style {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: .singleQuoted
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: .doubleQuoted
        case YAML_LITERAL_SCALAR_STYLE: .literal
        case YAML_FOLDED_SCALAR_STYLE: .folded
        default: .plain
        }
    }
}
