import Foundation

/// Reads, parses, decodes and validates job files. This is the one entry
/// point: a `Job` it returns has passed every static check.
public enum JobLoader {
    /// Loads the file at `path`; errors name `path` as given.
    public static func load(path: String, limits: YAMLLimits = .jobFile) throws(SpecErrors) -> Job {
        let bytes = try read(path, limits: limits)
        return try load(bytes: bytes, file: path, limits: limits)
    }

    /// Loads a job from memory; `file` is the name used in error messages.
    public static func load(bytes: [UInt8], file: String, limits: YAMLLimits = .jobFile) throws(SpecErrors) -> Job {
        let root: YAMLNode
        do {
            root = try YAMLComposer.compose(bytes, file: file, limits: limits)
        } catch {
            throw SpecErrors([error])
        }
        let context = DecodeContext(file: file, source: SourceText(bytes))
        let job = JobDecoder(context: context).decode(root)
        var diagnostics = context.diagnostics
        if let job, diagnostics.isEmpty {
            diagnostics += JobValidator(job: job).validate()
        }
        guard let job, diagnostics.isEmpty else {
            throw SpecErrors(diagnostics.isEmpty ? [Diagnostic(file: file, location: .start, message: "the job could not be read")] : diagnostics)
        }
        return job
    }

    /// Parses a file into its YAML tree with the job-file limits, without
    /// decoding it as a job (for tools such as schema checks).
    public static func parseYAML(bytes: [UInt8], file: String, limits: YAMLLimits = .jobFile) throws(SpecErrors) -> YAMLNode {
        do {
            return try YAMLComposer.compose(bytes, file: file, limits: limits)
        } catch {
            throw SpecErrors([error])
        }
    }

    /// A job file's bytes, refusing what is not a readable regular file within the size limit.
    public static func read(_ path: String, limits: YAMLLimits = .jobFile) throws(SpecErrors) -> [UInt8] {
        func failure(_ message: String, _ hint: String? = nil) -> SpecErrors {
            SpecErrors([Diagnostic(file: path, location: .start, message: message, hint: hint)])
        }
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw failure("cannot open the file: \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw failure("not a regular file", "name a .yaml job file")
        }
        guard Int(info.st_size) <= limits.maxBytes else {
            throw failure("the file is \(info.st_size) bytes; job files are limited to \(limits.maxBytes) bytes",
                          "split the job or move large data into files the steps read")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw failure("cannot open the file: \(String(cString: strerror(errno)))")
        }
        defer { try? handle.close() }
        // Read one byte past the limit: the file may have grown since stat.
        let data = (try? handle.read(upToCount: limits.maxBytes + 1)) ?? Data()
        guard data.count <= limits.maxBytes else {
            throw failure("the file is larger than \(limits.maxBytes) bytes; job files are limited to \(limits.maxBytes) bytes")
        }
        return [UInt8](data)
    }
}
