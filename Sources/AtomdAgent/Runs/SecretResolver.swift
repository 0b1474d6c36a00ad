import AtomdSpec
import Foundation

/// Reads the values of a job's secrets from the environment and from files.
public enum SecretResolver {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public static func resolve(_ secrets: [String: SecretSource]) throws(Failure) -> [String: String] {
        var values: [String: String] = [:]
        for (name, source) in secrets.sorted(by: { $0.key < $1.key }) {
            switch source {
            case .environment(let variable):
                guard let value = ProcessInfo.processInfo.environment[variable] else {
                    throw Failure(description: "secret '\(name)': environment variable \(variable) is not set")
                }
                values[name] = value
            case .file(let path):
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw Failure(description: "secret '\(name)': cannot read \(path)")
                }
                // A trailing newline is how editors save files, not part of the secret.
                var value = String(decoding: data, as: UTF8.self)
                while value.last == "\n" || value.last == "\r" { value.removeLast() }
                values[name] = value
            }
        }
        return values
    }
}
