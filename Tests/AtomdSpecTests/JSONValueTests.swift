import Foundation
import Testing
@testable import AtomdSpec

/// The compact JSON form: what the journal stores and plugins receive.
@Suite struct JSONValueTests {
    @Test func everyKindPrintsCompactlyWithSortedKeys() {
        let value: JSONValue = .object(["b": .array([.integer(-3), .number(1.5), .number(2), .bool(true), .null]),
                                        "a": .string("x"), "c": .object([:]), "d": .array([]), "e": .number(.infinity)])
        #expect(value.json == #"{"a":"x","b":[-3,1.5,2,true,null],"c":{},"d":[],"e":null}"#)
    }

    @Test func stringsAreEscapedAndRoundTrip() throws {
        let text = "quote \" backslash \\ newline \n tab \t return \r bell \u{7} nul \u{0} unit \u{1F} é 日本 🚀 \u{7F}"
        let json = JSONValue.string(text).json
        #expect(json.contains(#"\u0007"#) && json.contains(#"\u0000"#) && json.contains(#"\u001f"#))
        #expect(json.contains("é 日本 🚀"))
        let decoded = try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))
        #expect(decoded == .string(text))
        #expect(JSONValue.object([text: .null]).json == "{\(json):null}")
    }
}
