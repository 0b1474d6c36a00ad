@testable import AtomdSpec

/// Loads YAML text as a job file named `test.yaml`.
func load(_ yaml: String, limits: YAMLLimits = .jobFile) throws(SpecErrors) -> Job {
    try JobLoader.load(bytes: Array(yaml.utf8), file: "test.yaml", limits: limits)
}

/// The diagnostics of a job that must not load.
func problems(_ yaml: String, limits: YAMLLimits = .jobFile) -> [Diagnostic] {
    do {
        _ = try load(yaml, limits: limits)
        return []
    } catch {
        return error.diagnostics
    }
}

/// A minimal valid job around the given steps block.
func job(steps: String, head: String = "") -> String {
    "version: 1\nname: t\n\(head)steps:\n\(steps)"
}

/// Swift Testing has a `SourceLocation` too; in these tests the name means the job file's.
typealias SourceLocation = AtomdSpec.SourceLocation
