import Foundation
import Testing

/// scripts/install, staged into a directory: what a package would hold,
/// with the unit checked by systemd-analyze verify.
@Suite struct InstallTests {
    @Test func aStagedInstallHoldsBinaryPluginsConfigurationAndAVerifiedUnit() async throws {
        let stage = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-stage-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: stage) }
        let process = Process()
        process.executableURL = AtomdProcess.repository.appendingPathComponent("scripts/install")
        process.environment = ProcessInfo.processInfo.environment.merging(
            ["DESTDIR": stage, "PREFIX": "/usr", "ATOMD_BIN_DIR": AtomdProcess.binary.deletingLastPathComponent().path]) { _, new in new }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(printed)")
        #expect(!printed.contains("problems in the unit"), "\(printed)")
        for (path, mode) in [("/usr/bin/atomd", 0o755), ("/usr/lib/atomd/plugins/files.so", 0o644), ("/usr/lib/atomd/plugins/kv.so", 0o644),
                             ("/etc/atomd/atomd.yaml", 0o644), ("/etc/systemd/system/atomd.service", 0o644),
                             ("/etc/systemd/system/atomd-api-only.service", 0o644),
                             ("/usr/share/bash-completion/completions/atomd", 0o644), ("/usr/share/zsh/vendor-completions/_atomd", 0o644),
                             ("/usr/share/fish/vendor_completions.d/atomd.fish", 0o644), ("/usr/share/man/man1/atomd.1", 0o644)] {
            var info = stat()
            #expect(stat(stage + path, &info) == 0, "\(path) missing")
            #expect(Int(info.st_mode & 0o777) == mode, "\(path) has mode \(String(info.st_mode & 0o777, radix: 8))")
        }
        try await Self.expectCompletionAndManual(stage)
        let root = try String(contentsOfFile: stage + "/etc/systemd/system/atomd.service", encoding: .utf8)
        let apiOnly = try String(contentsOfFile: stage + "/etc/systemd/system/atomd-api-only.service", encoding: .utf8)
        for unit in [root, apiOnly] {
            #expect(unit.contains("ExecStart=/usr/bin/atomd agent --config /etc/atomd/atomd.yaml --home /var/lib/atomd"))
            for hardening in ["Type=notify", "NoNewPrivileges=yes", "PrivateTmp=yes", "ProtectKernelTunables=yes", "StateDirectory=atomd",
                              "RuntimeDirectory=atomd", "LogsDirectory=atomd", "KillMode=mixed", "SystemCallFilter=@system-service",
                              "LimitNOFILE=65536"] {
                #expect(unit.contains(hardening + "\n"), "a unit lacks \(hardening)")
            }
        }
        for needed in ["Delegate=yes", "ProtectSystem=full", "ProtectControlGroups=no", "CapabilityBoundingSet=CAP_CHOWN "] {
            #expect(root.contains(needed), "atomd.service lacks \(needed)")
        }
        for needed in ["User=atomd\n", "CapabilityBoundingSet=\n", "ProtectSystem=strict\n", "ProtectControlGroups=yes\n", "UMask=0077\n"] {
            #expect(apiOnly.contains(needed), "atomd-api-only.service lacks \(needed)")
        }
        // The exposure scores the README reports, as ceilings: dropping hardening fails here.
        for (unit, ceiling) in [("atomd.service", 3.6), ("atomd-api-only.service", 1.4)] {
            let score = try Self.exposure(stage + "/etc/systemd/system/" + unit)
            #expect(score.map { $0 <= ceiling } ?? true, "\(unit) scores \(score ?? 0), above \(ceiling)")
        }
        // A second install keeps the operator's configuration.
        try "agent: { max_runs: 9 }\n".write(toFile: stage + "/etc/atomd/atomd.yaml", atomically: true, encoding: .utf8)
        let again = Process()
        again.executableURL = process.executableURL
        again.environment = process.environment
        again.standardOutput = FileHandle.nullDevice
        again.standardError = FileHandle.nullDevice
        try again.run()
        again.waitUntilExit()
        #expect(again.terminationStatus == 0)
        #expect(try String(contentsOfFile: stage + "/etc/atomd/atomd.yaml", encoding: .utf8) == "agent: { max_runs: 9 }\n")
    }

    /// `systemd-analyze security --offline` on a unit file: its overall
    /// exposure, or nil (with the reason printed) where systemd is too old.
    static func exposure(_ unit: String) throws -> Double? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["systemd-analyze", "security", "--offline=true", unit]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard let line = text.split(separator: "\n").last(where: { $0.contains("Overall exposure level") }),
              let score = line.split(separator: ":").last?.split(separator: " ").first.flatMap({ Double($0) })
        else {
            print("InstallTests: no exposure score from systemd-analyze (needs systemd 252 or later): \(text.suffix(200))")
            return nil
        }
        return score
    }

    /// bash completes `atomd reh` to `rehearse` and `atomd rollback RUN --ta` to `--targets` with the installed
    /// script, and the installed man page describes every command the binary has.
    static func expectCompletionAndManual(_ stage: String) async throws {
        let script = stage + "/usr/share/bash-completion/completions/atomd"
        for (line, expected) in [("atomd reh", "rehearse"), ("atomd rollback RUN --ta", "--targets"), ("atomd config ch", "check")] {
            let parts = line.split(separator: " ").map(String.init)
            let words = parts.map { "'\($0)'" }.joined(separator: " ")
            let count = parts.count
            let bash = Process()
            bash.executableURL = URL(fileURLWithPath: "/bin/bash")
            bash.arguments = ["-c", "source '\(script)'; COMP_WORDS=(\(words)); COMP_CWORD=\(count - 1); COMP_LINE='\(line)'; "
                              // As `complete -F` calls it: the command, the word completed, the one before.
                              + "COMP_POINT=\(line.count); _atomd atomd '\(parts[count - 1])' '\(parts[count - 2])'; printf '%s\\n' \"${COMPREPLY[@]}\""]
            let output = Pipe()
            bash.standardOutput = output
            try bash.run()
            let replies = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            bash.waitUntilExit()
            #expect(replies.split(separator: "\n").contains(Substring(expected)), "\(line): \(replies)")
        }
        let manual = try String(contentsOfFile: stage + "/usr/share/man/man1/atomd.1", encoding: .utf8)
        let dump = try await AtomdProcess.run(["--experimental-dump-help"])
        let tool = try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any]
        let commands = ((tool?["command"] as? [String: Any])?["subcommands"] as? [[String: Any]] ?? []).compactMap { $0["commandName"] as? String }
        #expect(commands.count > 15)
        for command in commands {
            #expect(manual.contains(".It Em \(command)\n"), "etc/man/atomd.1 lacks `\(command)`: run scripts/generate-manual")
        }
    }
}
