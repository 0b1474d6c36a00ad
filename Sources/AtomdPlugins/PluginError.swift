/// Why a plugin could not be found, trusted, loaded or called. The message
/// names the file; the hint says what to do.
public struct PluginError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var message: String
    public var hint: String?

    public init(_ file: String, _ message: String, hint: String? = nil) {
        self.file = file
        self.message = message
        self.hint = hint
    }

    public var description: String {
        "\(file): \(message)" + (hint.map { " (\($0))" } ?? "")
    }
}
