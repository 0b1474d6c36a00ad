import AtomdEngine
import AtomdSpec
import AtomdTestSupport
import Foundation
@testable import AtomdShell
import Glibc
import Testing

/// Issue 30, item 1: a job's `env:` reached the root helpers that start a
/// `user:` step (the shell that enters the cgroup, setpriv) before they
/// dropped root, so `LD_PRELOAD` ran the submitter's library as uid 0.
/// The tests run as root with a real account (`useradd`).
@Suite(.serialized) struct PrivilegeDropTests {
    /// A library whose constructor appends "uid=N exe=PATH" to `log`.
    static func preloadLibrary(in directory: String, log: String) throws -> String {
        let source = directory + "/spy.c", library = directory + "/spy.so"
        try """
            #include <stdio.h>
            #include <unistd.h>
            __attribute__((constructor)) static void spy(void) {
                char exe[512] = {0};
                readlink("/proc/self/exe", exe, sizeof exe - 1);
                FILE *f = fopen("\(log)", "a");
                if (f) { fprintf(f, "uid=%d exe=%s\\n", (int)getuid(), exe); fclose(f); }
            }
            """.write(toFile: source, atomically: true, encoding: .utf8)
        let compiler = Process()
        compiler.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
        compiler.arguments = ["-shared", "-fPIC", "-o", library, source]
        try compiler.run()
        compiler.waitUntilExit()
        try #require(compiler.terminationStatus == 0, "cc could not build the preload library")
        return library
    }

    static func scratch() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-drop-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // The step, running as deploy, writes here too.
        chmod(directory, 0o1777)
        return directory
    }

    @Test(.timeLimit(.minutes(2))) func ldPreloadInTheJobsEnvironmentNeverRunsAsRoot() async throws {
        try #require(geteuid() == 0, "the privilege tests run as root")
        let deploy = try TestUsers.deploy
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = directory + "/loaded"
        let library = try Self.preloadLibrary(in: directory, log: log)
        let (supervisor, logs) = try makeSupervisor()
        defer { try? FileManager.default.removeItem(atPath: logs) }
        for variables in [["LD_PRELOAD": library], ["LD_PRELOAD": library, "GCONV_PATH": directory, "BASH_ENV": directory + "/env.sh"]] {
            try? FileManager.default.removeItem(atPath: log)
            let outcome = try await supervisor.run(ShellCommand(script: "id -u", environment: variables, user: deploy.name),
                                                   context: context())
            #expect(outcome.exitCode == 0, "\(outcome.tail)")
            #expect(outcome.tail.last == String(deploy.uid), "\(outcome.tail)")
            let loaded = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            let lines = loaded.split(separator: "\n")
            // The step's own processes (bash, id) load it, as deploy: the
            // job's environment does apply after the drop.
            #expect(lines.contains { $0.hasPrefix("uid=\(deploy.uid) ") && $0.hasSuffix("/bash") }, "\(loaded)")
            #expect(!lines.contains { $0.hasPrefix("uid=0 ") }, "a root process loaded the job's LD_PRELOAD:\n\(loaded)")
        }
    }

    /// The environment crosses to the step as quoted text a shell turns
    /// back into variables: whatever the bytes, they arrive unchanged and
    /// run nothing, also when they need several hand-over variables.
    @Test(.timeLimit(.minutes(2))) func valuesCrossThePrivilegeDropByteForByte() async throws {
        try #require(geteuid() == 0, "the privilege tests run as root")
        let deploy = try TestUsers.deploy
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let hostile = "it's \"q\" $(touch \(directory)/dollar) `touch \(directory)/tick` \\ \\' '\\'' ; touch \(directory)/semi\nline 2 ünï ☃\t"
        // Each below the kernel's 128 KiB limit on one variable, as any step
        // variable must be; quoted, they need several hand-over variables.
        let large = String(repeating: "'x'$(touch \(directory)/large)\n", count: 1_500)
        var variables = ["HOSTILE": hostile, "EMPTY": "", "PATH": "/usr/bin:/bin", "IFS": "x", "SPACED": "  a  b  "]
        for index in 0..<4 { variables["LARGE\(index)"] = large + String(index) }
        // IFS set early in the hand-over must not split what follows; bash
        // itself never takes IFS from its environment, so it is not compared.
        let names = variables.keys.sorted().filter { $0 != "IFS" }
        let script = names.map { "printf '%s' \"$\($0)\" > \(directory)/\($0)" }.joined(separator: "\n")
        let (supervisor, logs) = try makeSupervisor()
        defer { try? FileManager.default.removeItem(atPath: logs) }
        #expect(ShellEnvironment.handOver(variables, directory: nil, shell: "/bin/sh", token: "t", command: []).helpers.keys
            .filter { $0.hasPrefix(ShellEnvironment.chunkPrefix) }.count > 1, "the test must cross several hand-over variables")
        let outcome = try await supervisor.run(ShellCommand(script: script, environment: variables, user: deploy.name), context: context())
        #expect(outcome.exitCode == 0, "\(outcome.tail)")
        for name in names {
            let written = try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
            #expect(written == variables[name], "\(name) changed on its way")
        }
        for marker in ["dollar", "tick", "semi", "large"] {
            #expect(!FileManager.default.fileExists(atPath: directory + "/" + marker), "a value ran as code (\(marker))")
        }
    }

    /// `cwd:` was entered as root before the drop: a step as deploy read
    /// a file in a directory below a root-only one. Now it is entered as
    /// the step's user, and the step fails before running anything.
    @Test(.timeLimit(.minutes(1))) func theWorkingDirectoryIsEnteredWithTheStepsRights() async throws {
        try #require(geteuid() == 0, "the privilege tests run as root")
        let deploy = try TestUsers.deploy
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-cwd-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/locked/open", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        chmod(directory + "/locked", 0o700)
        chmod(directory + "/locked/open", 0o755)
        try "root-private-data".write(toFile: directory + "/locked/open/data", atomically: true, encoding: .utf8)
        chmod(directory + "/locked/open/data", 0o644)
        let (supervisor, logs) = try makeSupervisor()
        defer { try? FileManager.default.removeItem(atPath: logs) }
        let refused = try await supervisor.run(ShellCommand(script: "cat data", workingDirectory: directory + "/locked/open", user: deploy.name),
                                               context: context())
        #expect(refused.exitCode == 126, "\(refused.tail)")
        #expect(!refused.tail.contains("root-private-data"), "the step read through a directory only root may enter")
        chmod(directory + "/locked", 0o755)
        let allowed = try await supervisor.run(ShellCommand(script: "cat data; echo; pwd", workingDirectory: directory + "/locked/open",
                                                            user: deploy.name), context: context())
        #expect(allowed.exitCode == 0 && allowed.tail == ["root-private-data", directory + "/locked/open"], "\(allowed.tail)")
    }

    /// The helpers that still have root's rights see atomd's fixed base
    /// and the hand-over text, never a job variable by its name.
    @Test func theHelpersEnvironmentHoldsNoJobVariable() {
        let (helpers, command) = ShellEnvironment.handOver(["LD_PRELOAD": "/x.so", "PATH": "/evil", "NAME": "v"], directory: "/srv", shell: "/bin/sh",
                                                           token: "key#1", command: ["/bin/bash", "script"])
        #expect(helpers["LD_PRELOAD"] == nil && helpers["NAME"] == nil)
        #expect(helpers["PATH"] == ShellEnvironment.base["PATH"])
        #expect(Set(helpers.keys).subtracting(ShellEnvironment.base.keys)
            .allSatisfy { $0.hasPrefix(ShellEnvironment.chunkPrefix) || $0 == ProcessTree.tokenVariable })
        #expect(command.prefix(2) == ["/bin/sh", "-c"] && command.suffix(2) == ["/bin/bash", "script"])
    }
}
