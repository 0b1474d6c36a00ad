import Foundation
import Logging

/// One line per message on stderr. Under systemd (`$JOURNAL_STREAM` set)
/// each line starts with the journald priority, `<3>` for errors through
/// `<7>` for debug, and carries no time (journald adds it); elsewhere it
/// starts with the time and the level.
public struct StderrLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let journald: Bool

    public init(journald: Bool = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil) {
        self.journald = journald
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { _, new in new }
        let fields = all.isEmpty ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        // One write per line, so lines from several threads never interleave.
        let text = event.message.description.replacingOccurrences(of: "\n", with: " ") + fields
        let line = journald
            ? "<\(Self.priority(event.level))>\(text)\n"
            : "\(Date().formatted(.iso8601)) \(event.level): \(text)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// syslog priorities, as sd-daemon(3) prefixes them.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
