import Foundation

/// Plugins for tests: the ones this package builds, copied into fresh
/// plugin directories, and C sources compiled on the spot with `cc`.
public enum PluginFixtures {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The build directory: where the test bundle, `atomd` and the plugin libraries are.
    public static var buildDirectory: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    }

    public static var atomdBinary: String {
        ProcessInfo.processInfo.environment["ATOMD_BIN"] ?? buildDirectory.appendingPathComponent("atomd").path
    }

    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The ABI header's directory, for `cc -I`.
    public static var headerDirectory: String { repository.appendingPathComponent("Sources/CAtomdPlugin/include").path }

    /// A fresh directory (mode 0755) under the temporary directory.
    public static func directory(_ label: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-\(label)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        return path
    }

    /// A plugin directory holding copies of the built plugins `names` (`files`, `kv`, `trouble`) as `libNAME.so`.
    public static func pluginDirectory(_ names: [String]) throws -> String {
        let directory = try directory("plugins")
        for name in names {
            let built = buildDirectory.appendingPathComponent("lib\(name).so").path
            guard FileManager.default.fileExists(atPath: built) else {
                throw Failure(description: "no \(built); build the package first (swift build)")
            }
            try FileManager.default.copyItem(atPath: built, toPath: directory + "/lib\(name).so")
            chmod(directory + "/lib\(name).so", 0o755)
        }
        return directory
    }

    /// Compiles C `source` into the shared library `output` with `cc`.
    public static func compile(source: String, output: String, defines: [String] = []) async throws {
        let sourceFile = output + ".c"
        try source.write(toFile: sourceFile, atomically: true, encoding: .utf8)
        try await run("cc", ["-shared", "-fPIC", "-Wall", "-Werror", "-I", headerDirectory, "-o", output, sourceFile]
            + defines.map { "-D\($0)" })
    }

    /// Compiles Swift `source` into the shared library `output` against the
    /// `AtomdPluginKit` this package built: what `swift build` does for a
    /// plugin package, without resolving a second package graph.
    public static func compileSwift(source: String, output: String) async throws {
        let sourceFile = output + ".swift"
        try source.write(toFile: sourceFile, atomically: true, encoding: .utf8)
        let kit = buildDirectory.appendingPathComponent("AtomdPluginKit.build")
        let objects = try FileManager.default.contentsOfDirectory(atPath: kit.path)
            .filter { $0.hasSuffix(".swift.o") }.map { kit.appendingPathComponent($0).path }
        guard !objects.isEmpty else { throw Failure(description: "no AtomdPluginKit objects in \(kit.path); run swift build") }
        try await run("swiftc", ["-emit-library", "-parse-as-library", "-module-name", "Example", "-o", output, sourceFile,
                           "-I", buildDirectory.appendingPathComponent("Modules").path,
                           "-Xcc", "-fmodule-map-file=" + buildDirectory.appendingPathComponent("CAtomdPlugin.build/module.modulemap").path,
                           "-Xcc", "-I" + headerDirectory] + objects)
    }

    private static func run(_ tool: String, _ arguments: [String]) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = errors
        try process.run()
        let reader = errors.fileHandleForReading
        let message = try await offThePool { String(decoding: reader.readDataToEndOfFile(), as: UTF8.self) }
        await process.exited()
        guard process.terminationStatus == 0 else { throw Failure(description: "\(tool) failed: \(message)") }
    }
}
