import Foundation
import Glibc

/// A private directory for one step attempt: the script file (never passed
/// through `-c`) and the `$ATOMD_OUTPUT` file, owned by the step's user.
///
/// The directory stays the agent's (mode 0711 when the step runs as another
/// user): the step can write its two files but cannot replace them, so the
/// agent never reads a symlink or a FIFO the step put there. The output is
/// still opened without following links or blocking, and checked.
struct Workspace {
    let directory: String
    var scriptFile: String { directory + "/script" }
    var outputFile: String { directory + "/output" }
    /// Who must own the output file.
    private let ownerID: uid_t

    init(script: String, owner: UserAccount?) throws(ShellError) {
        var template = Array((Self.temporaryDirectory + "/atomd-step-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else {
            throw ShellError("cannot create a private directory for the step: \(String(cString: strerror(errno)))")
        }
        directory = String(cString: created)
        ownerID = owner?.uid ?? geteuid()
        for (path, contents) in [(scriptFile, Array(script.utf8)), (outputFile, [])] {
            guard FileIO.create(path, mode: 0o600, bytes: contents) else {
                throw ShellError("cannot write \(path): \(String(cString: strerror(errno)))")
            }
        }
        if let owner {
            for path in [scriptFile, outputFile] { chown(path, owner.uid, owner.gid) }
            chmod(directory, 0o711)
        }
    }

    /// `$TMPDIR` or /tmp, looked up once: Foundation's lookup is slow for a hot path.
    static let temporaryDirectory = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"

    /// What the step wrote to `$ATOMD_OUTPUT`, at most one byte past the limit.
    func outputBytes() throws(ShellError) -> [UInt8] {
        try FileIO.readOwnedFile(outputFile, owner: ownerID, limit: OutputFile.maxBytes + 1, name: "$ATOMD_OUTPUT")
    }

    /// The step cannot add files here (the directory is ours, mode 0700),
    /// so the two known files and the directory are all there is.
    func remove() {
        unlink(scriptFile)
        unlink(outputFile)
        rmdir(directory)
    }
}
