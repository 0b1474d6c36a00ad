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
        FileHandle.standardOutput.write(Data((text.terminalSafe + "\n").utf8))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text.terminalSafe + "\n").utf8))
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

extension String {
    /// The text with control characters (but line feeds and tabs) shown as
    /// `\u{1B}`: what atomd prints comes partly from others (an API's
    /// answer in a log line or an error, a step's output), and raw escape
    /// sequences would let them clear the operator's screen, forge lines,
    /// retitle the window or write the clipboard.
    var terminalSafe: String {
        guard unicodeScalars.contains(where: Self.isUnsafe) else { return self }
        var out = ""
        for scalar in unicodeScalars {
            if Self.isUnsafe(scalar) {
                out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        (scalar.value < 0x20 && scalar != "\n" && scalar != "\t") || (0x7F...0x9F).contains(scalar.value)
    }
}
