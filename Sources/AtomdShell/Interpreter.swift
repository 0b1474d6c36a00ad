/// How a step's script is run: the interpreter's path and the arguments that
/// come before the script file. The script is always a file, never `-c`.
struct Interpreter: Sendable, Hashable {
    var path: String
    var arguments: [String]

    /// The directories searched for `bash`, `sh` and `python3`.
    static let searchPath = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]

    static func resolve(_ shell: String) throws(ShellError) -> Interpreter {
        switch shell {
        case "bash": return Interpreter(path: try find("bash"), arguments: ["-e", "-o", "pipefail"])
        case "sh": return Interpreter(path: try find("sh"), arguments: ["-e"])
        case "python3": return Interpreter(path: try find("python3"), arguments: [])
        default:
            guard shell.hasPrefix("/") else {
                throw ShellError("shell '\(shell)' is not bash, sh, python3 or an absolute path")
            }
            guard access(shell, X_OK) == 0 else { throw ShellError("shell \(shell) is not an executable file") }
            return Interpreter(path: shell, arguments: [])
        }
    }

    private static func find(_ name: String) throws(ShellError) -> String {
        for directory in searchPath where access("\(directory)/\(name)", X_OK) == 0 {
            return "\(directory)/\(name)"
        }
        throw ShellError("\(name) is not installed (looked in \(searchPath.joined(separator: ":")))")
    }
}

#if canImport(Glibc)
import Glibc
#endif
