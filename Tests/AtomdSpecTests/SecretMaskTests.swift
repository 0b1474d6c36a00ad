import AtomdTestSupport
import Foundation
import Testing
@testable import AtomdSpec

/// The mask every stored or shown byte passes through (DESIGN.md section 2).
@Suite struct SecretMaskTests {
    static let secret = "s3cr3t/pa+ss word"

    @Test func theValueAndItsEncodedFormsAreMasked() {
        let mask = SecretMask([Self.secret])
        var unreserved = CharacterSet.alphanumerics
        unreserved.insert(charactersIn: "-._~")
        let encoded = Self.secret.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
        for text in [Self.secret, encoded, encoded.lowercased(), encoded.replacingOccurrences(of: "%20", with: "+"),
                     Self.secret.replacingOccurrences(of: "/", with: "\\/")] {
            #expect(mask("before \(text) after") == "before *** after", "\(text)")
        }
    }

    /// A secret inside a longer base64 text (`Basic base64(user:password)`)
    /// starts at any of three alignments and ends at any; none may leave
    /// more than the characters shared with its neighbours.
    @Test(arguments: 0..<6, 0..<4)
    func base64AtAnyPositionIsMasked(_ before: Int, _ after: Int) {
        let mask = SecretMask([Self.secret])
        let bytes = Array(repeating: UInt8(ascii: "u"), count: before) + Array(Self.secret.utf8) + Array(repeating: UInt8(ascii: "x"), count: after)
        for encoded in [Data(bytes).base64EncodedString(),
                        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")] {
            let masked = mask(encoded)
            #expect(masked.contains("***"), "\(encoded)")
            // What is left: at most the neighbours' characters, one shared character each side, and padding.
            let left = masked.count - 3
            #expect(left <= (before * 4 + 2) / 3 + 1 + (after * 4 + 2) / 3 + 1 + 2, "\(encoded) -> \(masked)")
        }
    }

    /// The issue's secret as real programs print it: `set -x`, `printf %q`,
    /// a hex dump, JSON with ASCII escapes, Python's repr, ascii and bytes.
    @Test func quotedAndEscapedFormsPrintedByRealProgramsAreMasked() async throws {
        let secret = "it's wörd\"x"
        let mask = SecretMask([secret])
        let programs: [(String, [String], String)] = [
            ("/bin/bash", ["-c", "set -x; : \"$RT_PW\""], "w"),
            ("/bin/bash", ["-c", "printf '%q\\n' \"$RT_PW\""], "w"),
            ("/bin/bash", ["-c", "LC_ALL=C printf '%q\\n' \"$RT_PW\""], "w"),
            ("/bin/bash", ["-c", "printf '%s' \"$RT_PW\" | od -An -tx1 | tr -d ' \\n'"], "77c3b6"),
            ("/bin/bash", ["-c", "printf '%s' \"$RT_PW\" | od -An -tx1 | tr -d ' \\n' | tr a-f A-F"], "77C3B6"),
            ("/usr/bin/python3", ["-c", "import json, os; print(json.dumps(os.environ['RT_PW']))"], "w"),
            ("/usr/bin/python3", ["-c", "import os; print(repr(os.environ['RT_PW']))"], "w"),
            ("/usr/bin/python3", ["-c", "import os; print(ascii(os.environ['RT_PW']))"], "w"),
            ("/usr/bin/python3", ["-c", "import os; print(repr(os.environ['RT_PW'].encode()))"], "w"),
            ("/usr/bin/python3", ["-c", "import html, os; print(html.escape(os.environ['RT_PW']))"], "w"),
            ("/usr/bin/perl", ["-MEncode", "-e", "binmode STDOUT, ':utf8'; print quotemeta(decode('UTF-8', $ENV{RT_PW}))"], "w"),
            ("/bin/bash", ["-c", "echo \"${RT_PW^^}\"; printf '%s' \"$RT_PW\" | rev"], "W"),
        ]
        for (executable, arguments, fragment) in programs {
            let printed = try await offThePool {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: executable)
                process.arguments = arguments
                process.environment = ["RT_PW": secret, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"]
                let output = Pipe()
                process.standardOutput = output
                process.standardError = output
                process.standardInput = FileHandle.nullDevice
                try process.run()
                let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                return printed
            }
            #expect(printed.contains(fragment), "\(arguments): \(printed)")
            let masked = mask(printed)
            #expect(masked.contains("***") && !masked.lowercased().contains("rd") && !masked.contains("dr")
                    && !masked.contains(fragment == "w" ? "s w" : fragment),
                    "\(arguments.last ?? ""): \(printed) -> \(masked)")
        }
    }

    @Test func eachLineOfAMultiLineSecretIsMasked() {
        let key = "-----BEGIN KEY-----\nMIIBVwIBADANBgkqhkiG\n-----END KEY-----"
        let mask = SecretMask([key])
        #expect(mask("printed: MIIBVwIBADANBgkqhkiG") == "printed: ***")
        #expect(mask(key) == "***")
    }

    @Test func valuesAddedLaterAreMaskedFromThenOnAndShortOnesNever() {
        let mask = SecretMask()
        #expect(mask.isEmpty)
        #expect(mask("token tok-123") == "token tok-123")
        mask.add(.object(["id": .string("tok-123"), "n": .integer(7), "short": .string("ab")]))
        #expect(mask("token tok-123, ab") == "token ***, ab")
        #expect(mask(.array([.string("tok-123!")])) == .array([.string("***!")]))
    }

    @Test func aSecretContainingAnotherIsMaskedWhole() {
        let mask = SecretMask(["abc", "xxabcxx"])
        #expect(mask("xxabcxx abc") == "*** ***")
    }

    static func expression(_ source: String) throws -> AtomdSpec.Expression {
        AtomdSpec.Expression(source: source, root: try ExpressionParser.parse(source), location: .start)
    }

    @Test func anExpressionReadingASecretTaintsItsValue() throws {
        let mask = SecretMask(["{\"user\":\"ops\",\"password\":\"hunter22\"}"])
        let evaluator = ExpressionEvaluator(contexts: ["secrets": .object(["creds": .string("{\"user\":\"ops\",\"password\":\"hunter22\"}")]),
                                                       "vars": .object(["who": .string("operator")])], taint: mask)
        #expect(try evaluator.evaluate(Self.expression("fromJSON(secrets.creds).password")) == .string("hunter22"))
        #expect(mask("pw=hunter22") == "pw=***")
        _ = try evaluator.evaluate(Self.expression("vars.who"))
        #expect(mask("operator") == "operator", "a value read from vars is not a secret")
    }
}
