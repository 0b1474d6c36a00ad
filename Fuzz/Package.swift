// swift-tools-version:6.1
import PackageDescription

// libFuzzer targets for atomd's parsers of outside input; built and run by
// Fuzz/run with -sanitize=fuzzer (see Fuzz/README.md). Each target's input
// is one file's bytes; a crash, a hang or a leak is a finding.
let package = Package(
    name: "atomd-fuzz",
    dependencies: [
        .package(name: "atomd", path: ".."),
        // For the control API's URI type, which ControlRequest builds from its input.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
    ],
    targets: [
        .target(name: "Driver", path: "Driver"),
        .executableTarget(name: "JobLoader", dependencies: ["Driver", .product(name: "AtomdSpec", package: "atomd")], path: "JobLoader"),
        .executableTarget(name: "Expressions", dependencies: ["Driver", .product(name: "AtomdSpec", package: "atomd")], path: "Expressions"),
        .executableTarget(name: "OutputFile", dependencies: ["Driver", .product(name: "AtomdShell", package: "atomd")], path: "OutputFile"),
        .executableTarget(name: "ControlRequest", dependencies: [
            "Driver", .product(name: "AtomdAgent", package: "atomd"), .product(name: "HummingbirdCore", package: "hummingbird"),
        ], path: "ControlRequest"),
        .executableTarget(name: "HostFrames", dependencies: ["Driver", .product(name: "AtomdPlugins", package: "atomd")], path: "HostFrames"),
    ]
)
