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
    /// XPath steps one evaluation may take: `//*//*//*` over a large
    /// document stops here instead of holding a thread for minutes.
    static let operationLimit: UInt = 5_000_000

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
        let bytes = Array(document.utf8)
        guard bytes.count <= documentLimit else {
            throw EvaluationError(message: "xpath: the document is larger than \(documentLimit.byteText), the limit")
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
