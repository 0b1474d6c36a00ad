// swift-tools-version:6.1
import PackageDescription

// Module layout and dependency direction follow DESIGN.md section 1:
// atomd -> AtomdAgent -> {Engine, Journal (and JournalPostgres), Shell, HTTP, Plugins} -> AtomdSpec.
let package = Package(
    name: "atomd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "atomd", targets: ["atomd"]),
        .library(name: "AtomdSpec", targets: ["AtomdSpec"]),
        .library(name: "AtomdEngine", targets: ["AtomdEngine"]),
        .library(name: "AtomdPluginKit", targets: ["AtomdPluginKit"]),
        // For the fuzz targets in Fuzz/ (their own package).
        .library(name: "AtomdShell", targets: ["AtomdShell"]),
        .library(name: "AtomdPlugins", targets: ["AtomdPlugins"]),
        .library(name: "AtomdAgent", targets: ["AtomdAgent"]),
        // Plugins: `libfiles.so`, `libkv.so` (the C example), `libtrouble.so` (tests only).
        .library(name: "files", type: .dynamic, targets: ["FilesPlugin"]),
        .library(name: "kv", type: .dynamic, targets: ["KVPlugin"]),
        .library(name: "trouble", type: .dynamic, targets: ["TroublePlugin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", exact: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.25.0"),
    ],
    targets: [
        // The system's libyaml (libyaml-dev, installed by scripts/setup): the
        // loader composes its own position-carrying tree from parser events
        // so that limits are enforced before anything is expanded.
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        // The xpath() expression function: XPath 1.0 over API answers in XML.
        .systemLibrary(name: "CXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .target(
            name: "AtomdSpec",
            dependencies: ["CYAML", "CXML2", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The engine knows atoms only through `Atom` and the journal only
        // through `Journal`: it imports no I/O module.
        .target(
            name: "AtomdEngine",
            dependencies: ["AtomdSpec"]
        ),
        // The durable journal: SQLite through GRDB (libsqlite3-dev, installed
        // by scripts/setup).
        .target(
            name: "AtomdJournal",
            dependencies: ["AtomdEngine", "AtomdSpec", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // The same journal on PostgreSQL (journal.postgres), behind AtomdJournal's
        // JournalStore: a connection pool, no ORM.
        .target(
            name: "AtomdJournalPostgres",
            dependencies: [
                "AtomdJournal", "AtomdEngine", "AtomdSpec",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // journal.postgres.tls: the CA and the verification mode.
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // prctl and getgrouplist, which Swift cannot call directly.
        .target(name: "CAtomdShell"),
        // renameat2(RENAME_NOREPLACE) for the spool, which Swift's Glibc does not declare.
        .target(name: "CAtomdAgent"),
        // The daemon (DESIGN.md section 7): spool, run queue, control API,
        // systemd; and the atom set every command runs with.
        .target(
            name: "AtomdAgent",
            dependencies: [
                "AtomdSpec", "AtomdEngine", "AtomdJournal", "AtomdJournalPostgres", "AtomdShell", "AtomdHTTP", "AtomdPlugins", "CAtomdAgent",
                .product(name: "Hummingbird", package: "hummingbird"),
                // HTTP1Channel's configuration: the connection's idle timeout and header limits.
                .product(name: "HummingbirdCore", package: "hummingbird"),
                // The console over HTTPS (api.tls), on swift-nio-ssl.
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                // The control socket, the console and the agent as one ServiceGroup.
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // /metrics: a Prometheus registry, also swift-metrics' backend in the agent.
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // The process supervisor and the `run` atom.
        .target(
            name: "AtomdShell",
            dependencies: [
                "AtomdEngine", "AtomdSpec", "CAtomdShell",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // libcurl (libcurl4-openssl-dev, installed by scripts/setup).
        .systemLibrary(name: "CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // The HTTP client over libcurl and the `http` atom.
        .target(
            name: "AtomdHTTP",
            dependencies: ["AtomdEngine", "AtomdSpec", "CCurl"]
        ),
        // A small cloud API on 127.0.0.1 for demos and tests.
        .executableTarget(
            name: "FakeCloud",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // THE plugin ABI: one C header, no Swift types (DESIGN.md section 6).
        .target(name: "CAtomdPlugin"),
        // Discovery, safety checks, dlopen, and the plugin host and its protocol.
        .target(
            name: "AtomdPlugins",
            dependencies: ["AtomdEngine", "AtomdSpec", "CAtomdPlugin", "CAtomdShell"]
        ),
        // The Swift SDK for plugin authors: depends on the ABI header only.
        .target(
            name: "AtomdPluginKit",
            dependencies: ["CAtomdPlugin"]
        ),
        // Shipped plugins (each a dynamic library product named after the plugin).
        .target(name: "FilesPlugin", dependencies: ["AtomdPluginKit"], path: "Plugins/files"),
        .target(name: "KVPlugin", dependencies: ["CAtomdPlugin"], path: "Plugins/c-example"),
        // Misbehaving and malformed plugins for the loader and isolation tests.
        .target(name: "TroublePlugin", dependencies: ["CAtomdPlugin"], path: "Tests/Plugins/trouble"),
        .executableTarget(
            name: "atomd",
            dependencies: [
                "AtomdSpec",
                "AtomdEngine",
                "AtomdShell",
                "AtomdHTTP",
                "AtomdJournal",
                "AtomdJournalPostgres",
                "AtomdPlugins",
                "AtomdAgent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // `swift run -c release engine-benchmark`: microseconds per step.
        .executableTarget(
            name: "engine-benchmark",
            dependencies: ["AtomdEngine", "AtomdSpec"],
            path: "Benchmarks/EngineBenchmark"
        ),
        // `swift run -c release shell-benchmark`: supervised step against a bare spawn.
        .executableTarget(
            name: "shell-benchmark",
            dependencies: ["AtomdEngine", "AtomdShell", .product(name: "Subprocess", package: "swift-subprocess")],
            path: "Benchmarks/ShellBenchmark"
        ),
        // `swift run -c release http-benchmark`: the http atom against the curl command line.
        .executableTarget(
            name: "http-benchmark",
            dependencies: ["AtomdEngine", "AtomdHTTP", "AtomdSpec"],
            path: "Benchmarks/HTTPBenchmark"
        ),
        // `swift run -c release journal-benchmark`: a step with the durable journal against one commit.
        .executableTarget(
            name: "journal-benchmark",
            dependencies: ["AtomdEngine", "AtomdJournal", "AtomdJournalPostgres", "AtomdSpec", .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "PostgresNIO", package: "postgres-nio")],
            path: "Benchmarks/JournalBenchmark"
        ),
        // `swift run -c release agent-benchmark`: spool latency, jobs per second, idle memory.
        .executableTarget(
            name: "agent-benchmark",
            dependencies: ["AtomdEngine", "AtomdJournal"],
            path: "Benchmarks/AgentBenchmark"
        ),
        .executableTarget(
            name: "plugin-benchmark",
            dependencies: ["AtomdEngine", "AtomdPlugins", "AtomdSpec"],
            path: "Benchmarks/PluginBenchmark"
        ),
        .testTarget(
            name: "AtomdSpecTests",
            dependencies: ["AtomdSpec", "AtomdTestSupport"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "AtomdEngineTests",
            dependencies: ["AtomdEngine", "AtomdSpec", "AtomdTestSupport"]
        ),
        .testTarget(
            name: "AtomdShellTests",
            dependencies: ["AtomdShell", "AtomdEngine", "AtomdSpec", "AtomdTestSupport"]
        ),
        // Test helpers shared by test targets (FakeCloud launcher, spawning helper programs, seeded randomness).
        .target(
            name: "AtomdTestSupport",
            dependencies: ["AtomdHTTP", "AtomdSpec", "CAtomdShell"],
            path: "Tests/Support"
        ),
        .testTarget(
            name: "AtomdHTTPTests",
            dependencies: ["AtomdHTTP", "AtomdEngine", "AtomdSpec", "AtomdTestSupport"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "AtomdJournalTests",
            dependencies: ["AtomdJournal", "AtomdJournalPostgres", "AtomdEngine", "AtomdSpec", "AtomdTestSupport"]
        ),
        .testTarget(
            name: "AtomdPluginsTests",
            dependencies: ["AtomdPlugins", "AtomdEngine", "AtomdSpec", "AtomdTestSupport"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "AtomdAgentTests",
            dependencies: ["AtomdAgent", "AtomdSpec", "AtomdTestSupport"]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["AtomdSpec", "AtomdTestSupport"]
        ),
    ]
)
