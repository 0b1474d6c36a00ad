import CXML2

/// `xpath(text, expr)`: XPath 1.0 over an XML document (an API's answer),
/// through the system's libxml2.
///
/// The document is parsed without the network and without entity
/// substitution, and a document with a DOCTYPE is refused before parsing:
/// API answers never carry one, and only a DTD can declare the entities
/// that reach files (XXE) or expand without bound. Every namespace declared
/// on the root element is registered under its prefix, a default namespace
/// as `ns` (EC2's answers: `//ns:instanceId`); `local-name()` works too.
enum XPath {
    /// The largest document read. With the expression's own cap this
    /// bounds what `concat()` can build inside libxml2 before any result is
    /// measured: at most about 85 references to a 2 MiB document. A larger
    /// answer is paginated (EC2's MaxResults) or filtered at the API.
    static let documentLimit = 2 << 20
    /// The longest XPath expression: those that pick values out of an API's
    /// answer are short (`//ns:instancesSet/ns:item/ns:instanceId` is 41).
    static let expressionLimit = 256
    /// Node lists longer than this are refused rather than built.
    static let nodeLimit = 10_000
    /// XPath steps one evaluation may take: `//a[count(//a) > 0]` over a
    /// large document stops here instead of holding a thread for minutes.
    static let operationLimit: UInt = 1_000_000
    /// Attributes (namespace declarations included) on one element:
    /// libxml2 2.9 checks them for duplicates in quadratic time, and a 2 MiB
    /// answer with 200,000 of them held a CPU for two minutes.
    static let attributeLimit = 256
    /// Elements in the document. libxml2 merges and sorts node sets
    /// without counting the work against the step limit, so some
    /// expressions cost the square of the node count: `//*//*` over 120,000
    /// nested elements took 32 s, and over 48,000 in chains of 8 still 8 s.
    /// An answer of 100 EC2 instances has about 15,000 elements, 10 deep.
    static let elementLimit = 20_000
    /// How deep elements may nest, and how many descendant steps (`//`,
    /// `descendant::`) an expression may take: the same merges grow with
    /// both (`//*//*//*` over 20,000 elements 31 deep took 5 s; with these
    /// limits the worst measured is `//*//*` at about 1.3 s in a debug build).
    static let depthLimit = 16
    static let descendantStepLimit = 2
    /// Steps up (`ancestor::`, `parent::`, `..`) and unions (`|`) an
    /// expression may take: libxml2 removes their duplicates in quadratic
    /// time, uncounted (20,000 elements 16 deep: two ancestor steps 2.2 s,
    /// four 4 s; twenty unions 4 s).
    static let upwardStepLimit = 1
    static let unionLimit = 2
    /// Axes whose node sets grow with the square of their siblings:
    /// `//a/following-sibling::a` over 200,000 elements took 99 s within
    /// the step limit. API answers are read with child and descendant
    /// steps and predicates.
    static let refusedAxes = ["following", "preceding", "following-sibling", "preceding-sibling"]

    private static let initialized: Bool = {
        xmlInitParser()
        return true
    }()

    /// A string, number, boolean, or an array of the nodes' string values.
    static func evaluate(_ document: String, _ expression: String) throws(EvaluationError) -> JSONValue {
        _ = initialized
        guard expression.utf8.count <= expressionLimit else {
            throw EvaluationError(message: "xpath: the expression is longer than \(expressionLimit) bytes, the limit")
        }
        let compact = expression.filter { !$0.isWhitespace }
        let descendantSteps = compact.components(separatedBy: "//").count - 1 + compact.components(separatedBy: "descendant").count - 1
        guard descendantSteps <= descendantStepLimit else {
            throw EvaluationError(message: "xpath: '\(expression)' takes \(descendantSteps) descendant steps (// or descendant::), "
                                  + "more than \(descendantStepLimit); name the path from the root or a known element")
        }
        let upward = ["ancestor", "parent::", ".."].reduce(0) { $0 + compact.components(separatedBy: $1).count - 1 }
        let unions = compact.filter { $0 == "|" }.count
        guard upward <= upwardStepLimit, unions <= unionLimit else {
            throw EvaluationError(message: "xpath: '\(expression)' takes \(upward) steps up and \(unions) unions, more than "
                                  + "\(upwardStepLimit) and \(unionLimit); select downwards from the root")
        }
        if let axis = refusedAxes.last(where: { compact.contains($0 + "::") }) {
            throw EvaluationError(message: "xpath: the \(axis):: axis is not supported (its cost is unbounded on a large answer); "
                                  + "select with child and descendant steps and predicates")
        }
        let bytes = Array(document.utf8)
        guard bytes.count <= documentLimit else {
            throw EvaluationError(message: "xpath: the document is larger than \(documentLimit.byteText), the limit")
        }
        if let shape = shape(of: bytes) {
            guard shape.mostAttributes <= attributeLimit else {
                throw EvaluationError(message: "xpath: an element of the document has \(shape.mostAttributes) attributes, more than "
                                      + "\(attributeLimit); atomd does not read such a document (its cost to parse is quadratic)")
            }
            guard shape.elements <= elementLimit else {
                throw EvaluationError(message: "xpath: the document has \(shape.elements) elements, more than \(elementLimit); "
                                      + "ask the API for less (a page size, a filter)")
            }
            guard shape.depth <= depthLimit else {
                throw EvaluationError(message: "xpath: the document nests elements \(shape.depth) deep, more than \(depthLimit)")
            }
        }
        guard !containsDoctype(bytes) else {
            throw EvaluationError(message: "xpath: the document has a DOCTYPE, which atomd does not read (its entities could "
                                  + "reach files or expand without bound); an API answer has none")
        }
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue
                            | XML_PARSE_NOCDATA.rawValue)
        let parsed = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress.map { base in
                base.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                    xmlReadMemory($0, Int32(buffer.count), "response.xml", "UTF-8", options)
                }
            } ?? nil
        }
        guard let doc = parsed else {
            throw EvaluationError(message: "xpath: the text is not well-formed XML (\(describe(bytes)))")
        }
        defer { xmlFreeDoc(doc) }
        guard doc.pointee.intSubset == nil, doc.pointee.extSubset == nil else {
            throw EvaluationError(message: "xpath: the document has a DOCTYPE, which atomd does not read")
        }
        guard let context = xmlXPathNewContext(doc) else { throw EvaluationError(message: "xpath: libxml2 is out of memory") }
        defer { xmlXPathFreeContext(context) }
        atomd_xpath_silence(context)
        context.pointee.opLimit = operationLimit
        registerNamespaces(of: doc, in: context)
        guard let result = xmlXPathEvalExpression(expression, context) else {
            let tooLong = context.pointee.opCount >= operationLimit
            throw EvaluationError(message: tooLong
                ? "xpath: '\(expression)' takes more than \(operationLimit) steps on this document; select more narrowly"
                : "xpath: '\(expression)' is not a valid XPath 1.0 expression, or names a prefix the document does not declare "
                  + "(a default namespace is the prefix ns:, or match with local-name())")
        }
        defer { xmlXPathFreeObject(result) }
        return try value(of: result)
    }

    private static func value(of result: xmlXPathObjectPtr) throws(EvaluationError) -> JSONValue {
        switch result.pointee.type {
        case XPATH_BOOLEAN:
            return .bool(result.pointee.boolval != 0)
        case XPATH_NUMBER:
            let number = result.pointee.floatval
            if number.isFinite, number == number.rounded(), abs(number) < 9.0e15 { return .integer(Int64(number)) }
            return number.isFinite ? .number(number) : .null
        case XPATH_STRING:
            let text = string(result.pointee.stringval)
            guard text.utf8.count <= ExpressionLimits.resultBytes else {
                throw ExpressionLimits.tooLarge("xpath: the result", limit: ExpressionLimits.resultBytes)
            }
            return .string(text)
        case XPATH_NODESET:
            guard let set = result.pointee.nodesetval, set.pointee.nodeNr > 0, let nodes = set.pointee.nodeTab else {
                return .array([])
            }
            let count = Int(set.pointee.nodeNr)
            guard count <= nodeLimit else {
                throw EvaluationError(message: "xpath: the expression selects \(count) nodes, more than \(nodeLimit); select fewer")
            }
            var values: [JSONValue] = []
            var total = 0
            for index in 0..<count {
                let text = nodes[index].map { node -> String in
                    guard let content = xmlNodeGetContent(node) else { return "" }
                    defer { atomd_xml_free(content) }
                    return string(content)
                } ?? ""
                total = total.addingSaturated(text.utf8.count)
                guard total <= ExpressionLimits.resultBytes else {
                    throw ExpressionLimits.tooLarge("xpath: the selected nodes' text", limit: ExpressionLimits.resultBytes)
                }
                values.append(.string(text))
            }
            return .array(values)
        default:
            throw EvaluationError(message: "xpath: the expression's result is of a kind atomd cannot use")
        }
    }

    private static func registerNamespaces(of doc: xmlDocPtr, in context: xmlXPathContextPtr) {
        guard let root = xmlDocGetRootElement(doc) else { return }
        var namespace = root.pointee.nsDef
        while let current = namespace {
            if let href = current.pointee.href {
                if let prefix = current.pointee.prefix {
                    _ = xmlXPathRegisterNs(context, prefix, href)
                } else {
                    _ = xmlXPathRegisterNs(context, "ns", href)
                }
            }
            namespace = current.pointee.next
        }
    }

    /// Anywhere in the text, not only in the prolog: a scan that stops at
    /// the first tag could be misled by one inside a comment. A literal
    /// "<!DOCTYPE" in a comment or CDATA is refused too, which no API sends.
    private static func containsDoctype(_ bytes: [UInt8]) -> Bool {
        let marker = Array("<!DOCTYPE".utf8)
        guard bytes.count >= marker.count else { return false }
        for index in 0...(bytes.count - marker.count) where bytes[index] == UInt8(ascii: "<") {
            if bytes[index..<(index + marker.count)].elementsEqual(marker) { return true }
        }
        return false
    }

    /// The start tags, and the most attributes on one of them, counted as
    /// `=` outside quoted values; comments, CDATA and processing
    /// instructions are skipped. Nil for a document that is not even that
    /// well-formed: libxml2 then says what is wrong.
    private static func shape(of bytes: [UInt8]) -> (elements: Int, mostAttributes: Int, depth: Int)? {
        func starts(_ text: String, at index: Int) -> Bool {
            let marker = Array(text.utf8)
            return index + marker.count <= bytes.count && bytes[index..<(index + marker.count)].elementsEqual(marker)
        }
        func skip(past end: String, from index: Int) -> Int? {
            let marker = Array(end.utf8)
            var at = index
            while at + marker.count <= bytes.count {
                if bytes[at..<(at + marker.count)].elementsEqual(marker) { return at + marker.count }
                at += 1
            }
            return nil
        }
        let skipped = [(open: "<!--", close: "-->"), (open: "<![CDATA[", close: "]]>"), (open: "<?", close: "?>")]
        var most = 0, elements = 0, depth = 0, deepest = 0, index = 0
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "<") else {
                index += 1
                continue
            }
            if let (open, close) = skipped.first(where: { starts($0.open, at: index) }) {
                guard let next = skip(past: close, from: index + open.utf8.count) else { return nil }
                index = next
                continue
            }
            var count = 0, quote: UInt8?
            let closing = index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "/")
            let opening = !closing && index + 1 < bytes.count && bytes[index + 1] != UInt8(ascii: "!")
            if opening { elements += 1 }
            index += 1
            while index < bytes.count {
                let byte = bytes[index]
                if let open = quote {
                    if byte == open { quote = nil }
                } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                    quote = byte
                } else if byte == UInt8(ascii: "=") {
                    count += 1
                } else if byte == UInt8(ascii: ">") {
                    break
                }
                index += 1
            }
            most = max(most, count)
            // A start tag that does not close itself goes one level deeper.
            if opening, index < bytes.count, bytes[index - 1] != UInt8(ascii: "/") { depth += 1 }
            if closing { depth -= 1 }
            deepest = max(deepest, depth)
            index += 1
        }
        return (elements, most, deepest)
    }

    private static func describe(_ bytes: [UInt8]) -> String {
        let start = String(decoding: bytes.prefix(60), as: UTF8.self).replacingOccurrences(of: "\n", with: " ")
        return bytes.isEmpty ? "it is empty" : "it starts '\(start)'"
    }

    private static func string(_ pointer: UnsafePointer<xmlChar>?) -> String {
        pointer.map { String(cString: $0) } ?? ""
    }

    private static func string(_ pointer: UnsafeMutablePointer<xmlChar>?) -> String {
        pointer.map { String(cString: $0) } ?? ""
    }
}
