import ArgumentParser
import AtomdSpec

/// Loading a job for commands that act on one: problems go to stderr in
/// `FILE:LINE:COL: error:` form and the command exits 2.
enum JobFile {
    static func load(_ path: String) throws -> Job {
        do {
            return try JobLoader.load(path: path)
        } catch {
            for diagnostic in error.diagnostics { Output.error(diagnostic.description) }
            throw AtomdExit.usage.code
        }
    }
}
