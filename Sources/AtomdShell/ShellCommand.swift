import AtomdSpec

/// A `run:` action as the `run` atom receives it, already resolved.
public struct ShellCommand: Sendable, Hashable {
    public var script: String
    /// `bash`, `sh`, `python3` or an absolute path.
    public var shell: String
    /// Job env and step env, merged; the supervisor adds the ATOMD_* variables.
    public var environment: [String: String]
    public var workingDirectory: String?
    public var user: String?
    public var group: String?
    public var successCodes: [Int]
    public var absentCodes: [Int]
    public var killGrace: Duration
    public var keepRunning: Bool
    public var limits: StepLimits?

    public init(script: String, shell: String = "bash", environment: [String: String] = [:],
                workingDirectory: String? = nil, user: String? = nil, group: String? = nil,
                successCodes: [Int] = [0], absentCodes: [Int] = [1], killGrace: Duration = .seconds(10),
                keepRunning: Bool = false, limits: StepLimits? = nil) {
        self.script = script
        self.shell = shell
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.user = user
        self.group = group
        self.successCodes = successCodes
        self.absentCodes = absentCodes
        self.killGrace = killGrace
        self.keepRunning = keepRunning
        self.limits = limits
    }
}

/// A failure of the shell atom or the supervisor, with what to do about it.
public struct ShellError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
