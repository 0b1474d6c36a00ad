import Foundation
import Synchronization

/// Runs `tar` and collects what it prints.
enum Tar {
    struct Result {
        var status: Int32
        var output: String
        var errors: String
    }

    /// `input`: a descriptor tar reads as its standard input (from its
    /// start). `directory`: a descriptor of the directory tar runs in.
    static func run(_ arguments: [String], input: Int32, directory: Int32? = nil) -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tar"] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        // Each run reads the archive from its start; the runs share the offset.
        lseek(input, 0, SEEK_SET)
        process.standardInput = FileHandle(fileDescriptor: input, closeOnDealloc: false)
        if let directory {
            // tar starts in the directory that was opened, not in whatever a
            // path names by then: /proc/self/fd/N is the descriptor itself.
            // The child changes directory before Foundation closes the
            // descriptors it inherits; were N closed first, the chdir would
            // fail and tar would not run.
            process.currentDirectoryURL = URL(fileURLWithPath: "/proc/self/fd/\(directory)")
        }
        do {
            try process.run()
        } catch {
            return Result(status: 127, output: "", errors: "cannot run tar: \(error)")
        }
        // Both pipes are drained at once: a listing can be larger than a pipe holds.
        let errorText = Mutex(Data())
        let drained = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let data = errors.fileHandleForReading.readDataToEndOfFile()
            errorText.withLock { $0 = data }
            drained.signal()
        }
        let out = output.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        let err = errorText.withLock { $0 }
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: out, as: UTF8.self),
                      errors: String(decoding: err, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
