import Foundation
import Testing

/// Issue 31, "Limits and floods": expression sizes, from outside (the real binary).
@Suite struct SizeCapTests {
    /// Step `a` outputs 900 KB; step `b` repeats it 1,300 times in its env,
    /// which no validation can see. The step fails with the limit named, the
    /// run is compensated (exit 1), and the agent never holds more than a
    /// few MiB for it (before the caps it allocated 1.8 GB and died).
    @Test(.timeLimit(.minutes(2))) func anAmplifyingStepFailsCleanlyWithBoundedMemory() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-amplify-\(UUID().uuidString)").path
        let placeholders = String(repeating: "{0}", count: 1300)
        let job = try AtomdProcess.temporaryJob("""
            version: 1
            name: amplify
            steps:
              - id: a
                outputs: { big: "${{ outputs.big }}" }
                run: printf 'big=%s\\n' "$(head -c 900000 /dev/zero | tr '\\0' x)" > "$ATOMD_OUTPUT"
              - id: b
                env: { HUGE: "${{ format('\(placeholders)', steps.a.outputs.big) }}" }
                run: echo never
            """)
        let rss = home + ".rss"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/time")
        process.arguments = ["-f", "%M", "-o", rss, AtomdProcess.binary.path, "run", job, "--home", home]
        process.currentDirectoryURL = AtomdProcess.repository
        let output = home + ".out"
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        // /usr/bin/time passes the exit status on: 1, failed and compensated.
        #expect(process.terminationStatus == 1, "\(text)")
        #expect(text.contains("would exceed 1 MiB"), "\(text)")
        let kilobytes = try #require(Int(try String(contentsOfFile: rss, encoding: .utf8).split(separator: "\n").last ?? ""))
        print("amplification attempt: atomd run peaked at \(kilobytes / 1024) MiB RSS")
        #expect(kilobytes < 200 * 1024, "atomd run peaked at \(kilobytes) KiB")
    }

    /// Declared outputs share one cap: ten copies of a 900 KB output (9 MB,
    /// each within the 1 MiB of a result) fail the step instead of going
    /// into the journal, and the run is compensated.
    @Test(.timeLimit(.minutes(2))) func declaredOutputsShareOneCap() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-outputs-\(UUID().uuidString)").path
        let copies = (0..<10).map { "o\($0): \"${{ outputs.big }}\"" }.joined(separator: ", ")
        let job = try AtomdProcess.temporaryJob("""
            version: 1
            name: outputs
            steps:
              - id: a
                outputs: { \(copies) }
                run: printf 'big=%s\\n' "$(head -c 900000 /dev/zero | tr '\\0' x)" > "$ATOMD_OUTPUT"
            """)
        let result = try await AtomdProcess.run(["run", job, "--home", home])
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect((result.stdout + result.stderr).contains("outputs would exceed 4 MiB together"), "\(result.stdout)")
    }
}
