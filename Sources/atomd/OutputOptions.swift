import ArgumentParser
import AtomdAgent
import Foundation

/// `--json`, shared by every command.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON instead of text.")
    var json = false
}

enum Output {
    static func line(_ text: String = "") {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Pretty JSON with sorted keys: stable output for scripts and diffs.
    static func json(_ value: some Encodable) throws {
        line(try prettyJSON(value))
    }

    /// One compact JSON object on one line, sorted keys: for streams of
    /// objects read line by line (`submit --wait --json`).
    static func jsonLine(_ value: some Encodable) throws {
        let encoder = APIJSON.encoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        line(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// Times as the control API gives them (RFC 3339, UTC, milliseconds),
    /// so that `--json` reads the same from the agent and from the journal.
    static func prettyJSON(_ value: some Encodable) throws -> String {
        let encoder = APIJSON.encoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
