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

    /// The job and its text, read once: the journal keeps the very bytes
    /// that were parsed.
    static func loadWithText(_ path: String) throws -> (Job, String) {
        let bytes: [UInt8]
        do {
            bytes = try JobLoader.read(path)
        } catch {
            for diagnostic in error.diagnostics { Output.error(diagnostic.description) }
            throw AtomdExit.usage.code
        }
        return (try parse(bytes, file: path), String(decoding: bytes, as: UTF8.self))
    }

    /// A job from text, with diagnostics as `load` prints them.
    static func parse(_ bytes: [UInt8], file: String) throws -> Job {
        do {
            return try JobLoader.load(bytes: bytes, file: file)
        } catch {
            for diagnostic in error.diagnostics { Output.error(diagnostic.description) }
            throw AtomdExit.usage.code
        }
    }
}
