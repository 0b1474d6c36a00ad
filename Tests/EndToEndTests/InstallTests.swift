import Foundation
import Testing

/// scripts/install, staged into a directory: what a package would hold,
/// with the unit checked by systemd-analyze verify.
@Suite struct InstallTests {
    @Test func aStagedInstallHoldsBinaryPluginsConfigurationAndAVerifiedUnit() throws {
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
                             ("/etc/atomd/atomd.yaml", 0o644), ("/etc/systemd/system/atomd.service", 0o644)] {
            var info = stat()
            #expect(stat(stage + path, &info) == 0, "\(path) missing")
            #expect(Int(info.st_mode & 0o777) == mode, "\(path) has mode \(String(info.st_mode & 0o777, radix: 8))")
        }
        let unit = try String(contentsOfFile: stage + "/etc/systemd/system/atomd.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/bin/atomd agent --config /etc/atomd/atomd.yaml --home /var/lib/atomd"))
        for hardening in ["Type=notify", "NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/spool/atomd",
                          "PrivateTmp=yes", "ProtectKernelTunables=yes", "StateDirectory=atomd", "RuntimeDirectory=atomd",
                          "LogsDirectory=atomd", "UMask=0077", "KillMode=mixed"] {
            #expect(unit.contains(hardening + "\n"), "the unit lacks \(hardening)")
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
}
