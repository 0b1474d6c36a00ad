import Foundation
import Testing
@testable import AtomdSpec

/// `xpath(text, expr)` over answers shaped like EC2's, and over documents
/// an attacker would send instead.
@Suite struct XPathTests {
    static let runInstances = """
        <?xml version="1.0" encoding="UTF-8"?>
        <RunInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
          <requestId>r-1</requestId>
          <instancesSet>
            <item><instanceId>i-0abc</instanceId><instanceState><name>pending</name></instanceState></item>
            <item><instanceId>i-0def</instanceId><instanceState><name>running</name></instanceState></item>
          </instancesSet>
        </RunInstancesResponse>
        """

    func value(_ expression: String, document: String = runInstances) throws -> JSONValue {
        let evaluator = ExpressionEvaluator(contexts: ["response": .object(["text": .string(document)])])
        let root = try ExpressionParser.parse(expression)
        return try evaluator.evaluate(Expression(source: expression, root: root, location: .start))
    }

    @Test func nodeListsStringsNumbersAndBooleans() throws {
        // The default namespace is the prefix ns; local-name() works too.
        #expect(try value("xpath(response.text, '//ns:instanceId')") == .array([.string("i-0abc"), .string("i-0def")]))
        #expect(try value("xpath(response.text, '//*[local-name()=\"instanceId\"]')[0]") == .string("i-0abc"))
        #expect(try value("xpath(response.text, 'string(//ns:item[2]/ns:instanceState/ns:name)')") == .string("running"))
        #expect(try value("xpath(response.text, 'count(//ns:item)')") == .integer(2))
        #expect(try value("xpath(response.text, 'count(//ns:item) div 4')") == .number(0.5))
        #expect(try value("xpath(response.text, 'boolean(//ns:nothing)')") == .bool(false))
        #expect(try value("xpath(response.text, '//ns:nothing')") == .array([]))
        // Without the prefix, names in a default namespace match nothing: documented.
        #expect(try value("xpath(response.text, '//instanceId')") == .array([]))
    }

    @Test func badDocumentsAndExpressionsAreClearErrors() {
        #expect(throws: EvaluationError.self) { try value("xpath(response.text, '//a')", document: "{\"json\": true}") }
        #expect(throws: EvaluationError.self) { try value("xpath(response.text, '//a')", document: "<a><b></a>") }
        #expect(throws: EvaluationError.self) { try value("xpath(response.text, '//[')") }
        #expect(throws: EvaluationError.self) { try value("xpath(response.text, '//zz:a')") }
        do {
            _ = try value("xpath(response.text, '//a')", document: "")
            Issue.record("an empty document was read")
        } catch let error as EvaluationError {
            #expect(error.message.contains("not well-formed XML") && error.message.contains("empty"), "\(error.message)")
        } catch {
            Issue.record("\(error)")
        }
    }

    /// XXE: an external entity naming a local file must not bring its
    /// contents into a value; a DOCTYPE anywhere is refused before parsing.
    @Test func externalEntitiesNeverReadFiles() throws {
        let secret = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-xxe-\(UUID().uuidString)").path
        try "TOPSECRET".write(toFile: secret, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: secret) }
        let attacks = [
            "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file://\(secret)\">]><r>&x;</r>",
            // Behind a comment that holds a tag: a prolog scan that stopped there would miss it.
            "<?xml version=\"1.0\"?><!-- <r> --><!DOCTYPE r [<!ENTITY x SYSTEM \"file://\(secret)\">]><r>&x;</r>",
            "<!DOCTYPE r SYSTEM \"file://\(secret)\"><r/>",
        ]
        for attack in attacks {
            do {
                let got = try value("xpath(response.text, 'string(/r)')", document: attack)
                Issue.record("an XXE document was read: \(got)")
            } catch let error as EvaluationError {
                #expect(error.message.contains("DOCTYPE") && !error.message.contains("TOPSECRET"), "\(error.message)")
            } catch {
                Issue.record("\(error)")
            }
        }
    }

    /// Billion laughs: entity expansion never happens (the DOCTYPE is
    /// refused), so the evaluation is quick and small.
    @Test func entityExpansionIsRefused() {
        var laughs = "<!DOCTYPE r [<!ENTITY l0 \"ha\">"
        for level in 1...12 { laughs += "<!ENTITY l\(level) \"" + String(repeating: "&l\(level - 1);", count: 10) + "\">" }
        laughs += "]><r>&l12;</r>"
        #expect(throws: EvaluationError.self) { try value("xpath(response.text, 'string(/r)')", document: laughs) }
    }

    @Test func oversizedDocumentsAndResultsAreRefused() throws {
        let many = "<r>" + String(repeating: "<i>x</i>", count: XPath.nodeLimit + 1) + "</r>"
        #expect(throws: EvaluationError.self) { try value("xpath(response.text, '//i')", document: many) }
        #expect(try value("xpath(response.text, 'count(//i)')", document: many) == .integer(Int64(XPath.nodeLimit + 1)))
        let big = "<r>" + String(repeating: "y", count: XPath.documentLimit) + "</r>"
        #expect(throws: EvaluationError.self) { try value("xpath(response.text, 'string(/r)')", document: big) }
        let wide = "<r><i>" + String(repeating: "z", count: ExpressionLimits.resultBytes + 1) + "</i></r>"
        #expect(throws: EvaluationError.self) { try value("xpath(response.text, '//i')", document: wide) }
        #expect(throws: EvaluationError.self) { try value("xpath(response.text, 'string(//i)')", document: wide) }
        // concat() would multiply the document inside libxml2: the expression's cap bounds it.
        let amplifying = "concat(" + Array(repeating: "/r", count: 200).joined(separator: ",") + ")"
        #expect(throws: EvaluationError.self) { try value("xpath(response.text, '\(amplifying)')", document: wide) }
        // A quadratic walk stops at the step limit instead of running for minutes.
        let deep = "<r>" + String(repeating: "<i><i><i><i></i></i></i></i>", count: 3000) + "</r>"
        do {
            _ = try value("xpath(response.text, 'count(//i[count(//i) > 0])')", document: deep)
            Issue.record("the walk was not stopped")
        } catch let error as EvaluationError {
            #expect(error.message.contains("steps"), "\(error.message)")
        } catch {
            Issue.record("\(error)")
        }
    }
}

/// Found by review: a hostile answer must not hold a CPU for minutes.
@Suite struct XPathCostTests {
    func value(_ expression: String, document: String) throws -> JSONValue {
        try XPathTests().value(expression, document: document)
    }

    @Test func anElementWithTooManyAttributesIsRefusedBeforeParsing() throws {
        let attributes = (0..<200_000).map { "a\($0)=\"\"" }.joined(separator: " ")
        do {
            _ = try value("xpath(response.text, 'string(/r)')", document: "<r \(attributes)/>")
            Issue.record("the document was parsed")
        } catch let error as EvaluationError {
            #expect(error.message.contains("200000 attributes"), "\(error.message)")
        }
        // Namespace declarations count too; attributes in comments, CDATA
        // and quoted values do not.
        let declarations = (0..<300).map { "xmlns:p\($0)=\"urn:\($0)\"" }.joined(separator: " ")
        #expect(throws: EvaluationError.self) { try value("xpath(response.text, 'string(/r)')", document: "<r \(declarations)/>") }
        let quiet = "<r a=\"\(String(repeating: "x=", count: 400))\"><!-- \(attributes.prefix(4000)) --><![CDATA[ \(attributes.prefix(4000)) ]]>ok</r>"
        #expect(try value("xpath(response.text, 'string(/r)')", document: quiet).interpolated.hasSuffix("ok"))
        #expect(try value("xpath(response.text, 'string(/r/@a)')", document: "<r a=\"1\" b='2'/>") == .string("1"))
    }

    @Test func axesWithUnboundedCostAreRefused() {
        for expression in ["count(//a/following::a)", "//a/preceding :: a", "count(//a/following ::*)"] {
            do {
                _ = try value("xpath(response.text, '\(expression)')", document: "<r><a/><a/></r>")
                Issue.record("\(expression) was evaluated")
            } catch let error as EvaluationError {
                #expect(error.message.contains("axis is not supported"), "\(error.message)")
            } catch {
                Issue.record("\(error)")
            }
        }
        #expect((try? value("xpath(response.text, 'count(/r/a[2]/ancestor::*)')", document: "<r><a/><a/></r>")) == .integer(1))
    }

    /// Node sets merged without counting grow with the element count, the
    /// depth and the descendant steps: each is capped, with a message.
    @Test func largeDeepOrManyStepWalksAreRefused() {
        func refusal(_ expression: String, _ document: String) -> String {
            do {
                _ = try value("xpath(response.text, '\(expression)')", document: document)
                return "evaluated"
            } catch let error as EvaluationError {
                return error.message
            } catch {
                return "\(error)"
            }
        }
        let flat = "<r>" + String(repeating: "<a>x</a>", count: XPath.elementLimit) + "</r>"
        #expect(refusal("count(//a)", flat).contains("elements, more than"))
        let deep = String(repeating: "<i>", count: XPath.depthLimit + 1) + String(repeating: "</i>", count: XPath.depthLimit + 1)
        #expect(refusal("count(//i)", deep).contains("deep, more than"))
        let fine = String(repeating: "<i>", count: XPath.depthLimit) + "<a/>" + String(repeating: "</i>", count: XPath.depthLimit)
        #expect((try? value("xpath(response.text, 'count(//i//a)')", document: fine)) == .integer(1))
        #expect(refusal("count(//*//*//*)", fine).contains("3 descendant steps"))
        #expect(refusal("count(//*/descendant::*//*)", fine).contains("3 descendant steps"))
        #expect(refusal("count(//a/ancestor::*/..)", fine).contains("2 steps up"))
        #expect(refusal("count(/*|/*|/*|/*)", fine).contains("3 unions"))
        #expect((try? value("xpath(response.text, 'count(//a/.. | /*)')", document: fine)) == .integer(2))
    }
}
