import AtomdEngine
import AtomdSpec
import Testing

/// What a `state:` probe prints: one JSON object or KEY=VALUE lines.
@Suite struct StateTextTests {
    @Test func keyValueLinesKeepEverythingAfterTheFirstEquals() throws {
        let parsed = try StateText.parse("# a comment\n\ntarget=releases/2\nargs=a=b c \nempty=\r\n")
        #expect(parsed == .object(["target": .string("releases/2"), "args": .string("a=b c "), "empty": .string("")]))
    }

    @Test func aJSONObjectIsTakenAsItIs() throws {
        #expect(try StateText.parse(" {\"mode\": 420, \"owner\": \"app\"}\n") == .object(["mode": .integer(420), "owner": .string("app")]))
    }

    @Test(arguments: [
        ("hello\ntarget=1", "line 1 is not KEY=VALUE"),
        ("=value", "line 1 is not KEY=VALUE"),
        ("1abc=x", "line 1 is not KEY=VALUE"),
        ("target=1\nké=2", "line 2 is not KEY=VALUE"),
        ("{\"a\": ", "starts like JSON but is not a JSON object"),
        ("{\"a\": 1} trailing", "starts like JSON but is not a JSON object"),
    ])
    func noiseIsRefusedWithTheLineToFix(_ text: String, _ message: String) {
        #expect {
            _ = try StateText.parse(text)
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test func nothingPrintedIsAnEmptyState() throws {
        #expect(try StateText.parse("") == .object([:]))
    }

    @Test func manyLinesAreAllKept() throws {
        let lines = (0..<20_000).map { "key\($0)=value \($0)" }.joined(separator: "\n")
        guard case .object(let members) = try StateText.parse(lines) else { throw AtomError("not an object") }
        #expect(members.count == 20_000)
    }
}
