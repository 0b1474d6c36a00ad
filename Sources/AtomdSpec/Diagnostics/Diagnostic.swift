/// One problem found in a job file, with the position an operator should
/// look at and, where one can be given, what to write instead.
public struct Diagnostic: Sendable, Hashable, Error, CustomStringConvertible {
    /// The file as the user named it.
    public var file: String
    public var location: SourceLocation
    public var message: String
    /// What to do about it ("did you mean 'timeout'?", "write true or false").
    public var hint: String?

    public init(file: String, location: SourceLocation, message: String, hint: String? = nil) {
        self.file = file
        self.location = location
        self.message = message
        self.hint = hint
    }

    /// The message and the hint as one sentence.
    public var fullMessage: String {
        guard let hint else { return message }
        return "\(message); \(hint)"
    }

    /// `FILE:LINE:COL: error: MESSAGE`, the format compilers use, so editors
    /// and CI logs link it to the spot.
    public var description: String {
        "\(file):\(location.line):\(location.column): error: \(fullMessage)"
    }

    /// The same, for something that is allowed but worth knowing.
    public var warningDescription: String {
        "\(file):\(location.line):\(location.column): warning: \(fullMessage)"
    }
}

/// All the problems found in one file. Loading reports every problem it can
/// find, not just the first.
public struct SpecErrors: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) {
        self.diagnostics = diagnostics.sorted { ($0.location, $0.message) < ($1.location, $1.message) }
    }

    public var description: String {
        diagnostics.map(\.description).joined(separator: "\n")
    }
}
