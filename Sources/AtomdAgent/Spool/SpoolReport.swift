import AtomdSpec
import Foundation

/// `failed/NAME.error.json`: why a job failed, where in its file, and which
/// run it was. The first error is repeated at the top level so that a script
/// can read `.line` and `.message` without looking into `.errors`.
public struct SpoolReport: Sendable, Hashable, Codable {
    public struct Entry: Sendable, Hashable, Codable {
        public var line: Int?
        public var column: Int?
        public var message: String
        public var hint: String?
    }

    /// The job file's name as it arrived in the spool.
    public var file: String
    public var line: Int?
    public var column: Int?
    public var message: String
    public var hint: String?
    /// The run, when the job got as far as running.
    public var runID: String?
    public var errors: [Entry]
    /// The token `atomd submit` gave the job, if it was submitted so.
    public var submission: String?

    enum CodingKeys: String, CodingKey {
        case file, line, column, message, hint, runID = "run_id", errors, submission
    }

    /// Larger reports are not read back (a job's diagnostics stay far below).
    static let maxBytes = 4 << 20

    /// A refusal or failure without a position in the file.
    public init(file: String, message: String, hint: String? = nil, runID: String? = nil) {
        self.file = file
        self.message = message
        self.hint = hint
        self.runID = runID
        errors = [Entry(message: message, hint: hint)]
    }

    /// A job that did not load: every diagnostic with its position.
    public init(file: String, diagnostics: [Diagnostic]) {
        self.file = file
        errors = diagnostics.map {
            Entry(line: $0.location.line, column: $0.location.column, message: $0.message, hint: $0.hint)
        }
        let first = errors.first
        line = first?.line
        column = first?.column
        message = first?.message ?? "the job could not be loaded"
        hint = first?.hint
    }

    func json() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return ((try? encoder.encode(self)) ?? Data()).map { $0 } + [UInt8(ascii: "\n")]
    }
}
