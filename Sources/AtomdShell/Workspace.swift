import Foundation
import Glibc

/// A private directory for one step attempt: the script file (never passed
/// through `-c`) and the `$ATOMD_OUTPUT` file, owned by the step's user.
struct Workspace {
    let directory: String
    var scriptFile: String { directory + "/script" }
    var outputFile: String { directory + "/output" }

    init(script: String, owner: UserAccount?) throws(ShellError) {
        var template = Array((FileManager.default.temporaryDirectory.path + "/atomd-step-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else {
            throw ShellError("cannot create a private directory for the step: \(String(cString: strerror(errno)))")
        }
        directory = String(cString: created)
        let files = [(scriptFile, Data(script.utf8)), (outputFile, Data())]
        for (path, contents) in files {
            guard FileManager.default.createFile(atPath: path, contents: contents, attributes: [.posixPermissions: 0o600]) else {
                throw ShellError("cannot write \(path)")
            }
        }
        if let owner {
            for path in [directory, scriptFile, outputFile] { chown(path, owner.uid, owner.gid) }
        }
    }

    /// What the step wrote to `$ATOMD_OUTPUT`, at most one byte past the limit.
    func outputBytes() -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: outputFile) else { return [] }
        defer { try? handle.close() }
        return [UInt8]((try? handle.read(upToCount: OutputFile.maxBytes + 1)) ?? Data())
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
