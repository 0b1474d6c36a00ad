import ArgumentParser

/// The exit codes every command uses (DESIGN.md section 8).
enum AtomdExit: Int32 {
    case success = 0
    case compensated = 1
    case usage = 2
    case compensationFailed = 3
    case unavailable = 4

    var code: ExitCode { ExitCode(rawValue) }
}
