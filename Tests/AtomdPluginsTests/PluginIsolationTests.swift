import AtomdEngine
@testable import AtomdPlugins
import AtomdSpec
import AtomdTestSupport
import Foundation
import Testing

/// A misbehaving plugin fails only its call; the next call gets a fresh host.
@Suite("Plugin isolation")
struct PluginIsolationTests {
    func catalog(_ configure: (inout PluginSettings) -> Void = { _ in }) throws -> PluginCatalog {
        var settings = try settings(["trouble"])
        configure(&settings)
        return PluginCatalog(settings: settings)
    }

    /// Runs `name`, expects a failure containing `message`, then proves the plugin still works.
    func expectContained(_ name: String, input: JSONValue = .object([:]), message: String, catalog: PluginCatalog,
                         timeout: Duration? = nil) async throws {
        let bad = try await atom("trouble.\(name)", in: catalog)
        let before = catalog.hostsStarted(for: "trouble") ?? 0
        let call = Task { try await bad.execute(input, context: context()) }
        if let timeout {
            try await Task.sleep(for: timeout)
            call.cancel()
        }
        let error = try #require(await failure { _ = try await call.value })
        #expect(error.message.contains(message), "\(name): \(error.message)")
        let echo = try await atom("trouble.echo", in: catalog)
        let result = try await echo.execute(.object(["after": .string(name)]), context: context())
        #expect(result.outputs["input"]["after"] == .string(name))
        #expect((catalog.hostsStarted(for: "trouble") ?? 0) > before, "\(name): no fresh host was started")
    }

    @Test("A segfault fails the call with its signal")
    func segfault() async throws {
        let catalog = try catalog()
        defer { catalog.shutDown() }
        try await expectContained("segfault", message: "crashed (killed by signal 11 (SIGSEGV)); its last output: segfault: about to write",
                                  catalog: catalog)
    }

    @Test("abort() fails the call with SIGABRT")
    func abort() async throws {
        let catalog = try catalog()
        defer { catalog.shutDown() }
        try await expectContained("abort", message: "crashed (killed by signal 6 (SIGABRT))", catalog: catalog)
    }

    @Test("A hang past the call deadline kills the host")
    func hangPastDeadline() async throws {
        let catalog = try catalog { $0.callTimeout = .milliseconds(300) }
        defer { catalog.shutDown() }
        try await expectContained("hang", message: "did not answer within its deadline and was killed", catalog: catalog)
    }

    @Test("A cancelled call that does not stop is killed after the grace period")
    func hangAfterCancel() async throws {
        let catalog = try catalog { $0.cancelGrace = .milliseconds(200) }
        defer { catalog.shutDown() }
        try await expectContained("hang", message: "did not stop within 0.2 seconds of being cancelled", catalog: catalog,
                                  timeout: .milliseconds(200))
    }

    @Test("A cancelled call that honours cancellation returns its own answer and keeps its host")
    func cooperativeCancel() async throws {
        let catalog = try catalog()
        defer { catalog.shutDown() }
        let slow = try await atom("trouble.slow", in: catalog)
        let task = Task { try await slow.execute(.object(["ms": .integer(60_000)]), context: context()) }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        let error = try #require(await failure { _ = try await task.value })
        #expect(error.message.contains("trouble.slow stopped: cancelled"))
        #expect(catalog.hostsStarted(for: "trouble") == 1)
    }

    @Test("A leak is bounded: past the data limit the call fails; a bloated host is replaced")
    func leak() async throws {
        let catalog = try catalog { $0.memoryLimit = 96 << 20 }
        defer { catalog.shutDown() }
        try await expectContained("leak", input: .object(["mb": .integer(256)]), message: "crashed", catalog: catalog)
        let leak = try await atom("trouble.leak", in: catalog)
        let log = CapturedLog()
        let hosts = catalog.hostsStarted(for: "trouble") ?? 0
        _ = try await leak.execute(.object(["mb": .integer(56)]), context: context(log))
        #expect(log.all.contains { $0.contains("over half its 96 MiB limit; it is replaced") })
        _ = try await leak.execute(.object(["mb": .integer(1)]), context: context())
        #expect(catalog.hostsStarted(for: "trouble") == hosts + 1)
    }

    @Test("What a plugin prints to stdout goes to the log, not into the frames")
    func stdoutIsNotAFrame() async throws {
        let catalog = try catalog()
        defer { catalog.shutDown() }
        let print = try await atom("trouble.print", in: catalog)
        let log = CapturedLog()
        let result = try await print.execute(.object([:]), context: context(log))
        #expect(result.outputs == .object(["printed": .bool(true)]))
        #expect(log.all.contains { $0.contains("not a frame at all") })
    }

    @Test("Parallel calls each get a host of their own")
    func parallel() async throws {
        let catalog = try catalog()
        defer { catalog.shutDown() }
        let slow = try await atom("trouble.slow", in: catalog)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<3 { group.addTask { _ = try await slow.execute(.object(["ms": .integer(200)]), context: context()) } }
            try await group.waitForAll()
        }
        #expect(catalog.hostsStarted(for: "trouble") == 3)
    }

    /// The plugin hosts this process started for `file`.
    func hosts(serving file: String) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(pid_t.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let fields = stat.split(separator: ")").last?.split(separator: " "), fields.count > 1,
                  pid_t(fields[1]) == getpid(),
                  let command = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")) else { return false }
            let arguments = command.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return arguments.contains("plugin-host") && arguments.contains(file)
        }
    }

    @Test("Writing a frame to a host that is gone fails the write instead of raising SIGPIPE")
    func writeToAClosedPeer() throws {
        var ends: [Int32] = [-1, -1]
        // Close-on-exec: a process another test spawns meanwhile must not
        // inherit the peer and keep it open (the write would then succeed).
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0)
        close(ends[1])
        #expect(!FrameWriter(fd: ends[0]).send(HostFrame(.cancel, id: 1)))
        close(ends[0])
    }

    @Test("A host inherits no descriptor but its pipes, so it holds no one else's pipe open")
    func hostsInheritNothingElse() async throws {
        var ends: [Int32] = [-1, -1]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]); close(ends[1]) }
        let pipeName = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(ends[1])")
        let catalog = try catalog()
        defer { catalog.shutDown() }
        _ = try await atom("trouble.echo", in: catalog).execute(.object([:]), context: context())
        let file = try #require(await catalog.inventory().first?.path)
        let host = try #require(hosts(serving: file).first)
        let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(host)/fd")
            .compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(host)/fd/\($0)") }
        #expect(!open.isEmpty)
        #expect(!open.contains(pipeName), "\(open)")
    }

    @Test("An idle host that died is replaced")
    func idleHostDied() async throws {
        let catalog = try catalog()
        defer { catalog.shutDown() }
        let echo = try await atom("trouble.echo", in: catalog)
        _ = try await echo.execute(.object(["n": .integer(1)]), context: context())
        let file = try #require(await catalog.inventory().first?.path)
        let idle = hosts(serving: file)
        try #require(idle.count == 1, "\(idle)")
        kill(idle[0], SIGKILL)
        // Once it is reaped, the pool knows it is dead (or finds out when
        // the call cannot be delivered): either way a fresh host serves.
        while FileManager.default.fileExists(atPath: "/proc/\(idle[0])") { try await Task.sleep(for: .milliseconds(2)) }
        for round: Int64 in 2...4 {
            let result = try await echo.execute(.object(["n": .integer(round)]), context: context())
            #expect(result.outputs["input"]["n"] == .integer(round))
        }
        #expect(catalog.hostsStarted(for: "trouble") == 2)
    }

    @Test("In process, a hanging call is abandoned at its deadline and holds up no other call")
    func inProcessHang() async throws {
        let catalog = try catalog { $0.inProcess = ["trouble"]; $0.callTimeout = .milliseconds(500) }
        defer { catalog.shutDown() }
        let hang = try await atom("trouble.hang", in: catalog)
        let hanging = Task { try await hang.execute(.object([:]), context: context()) }
        let echo = try await atom("trouble.echo", in: catalog)
        for round: Int64 in 0..<20 {
            let result = try await echo.execute(.object(["round": .integer(round)]), context: context())
            #expect(result.outputs["input"]["round"] == .integer(round))
        }
        let error = try #require(await failure { _ = try await hanging.value })
        #expect(error.message == "the in-process plugin did not answer within 0.5 seconds; its call was abandoned")
        #expect(catalog.hostsStarted(for: "trouble") == nil)
    }

    /// A host that speaks nonsense: a shell script standing in for atomd.
    func fakeHost(_ script: String) throws -> PluginSettings {
        var settings = try settings(["trouble"])
        let path = try PluginFixtures.directory("host") + "/host.sh"
        // Written through a close-on-exec descriptor: a plugin host another
        // test starts meanwhile must not inherit it, or exec fails with ETXTBSY.
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o755)
        try #require(fd >= 0)
        let bytes = Array(("#!/bin/sh\n" + script).utf8)
        #expect(write(fd, bytes, bytes.count) == bytes.count)
        close(fd)
        settings.hostExecutable = path
        return settings
    }

    @Test("A broken frame in the handshake refuses the plugin", arguments: [
        "printf '\\377\\377\\377\\377'; cat >/dev/null",
        "printf '\\000\\000\\000\\005hello'; cat >/dev/null",
        "printf '\\000\\000\\000\\011'; exit 0",
        "exit 3",
    ])
    func brokenHandshake(script: String) async throws {
        let catalog = PluginCatalog(settings: try fakeHost(script))
        defer { catalog.shutDown() }
        do {
            _ = try await catalog.atoms(forPlugins: ["trouble"])
            Issue.record("a broken host was accepted")
        } catch {
            let message = error.errors.first?.message ?? ""
            #expect(message.contains("sent a broken frame") || message.contains("ended unexpectedly (exited with status 3)"),
                    "\(script): \(message)")
        }
    }

    @Test("A broken frame during a call fails the call and kills the host")
    func brokenFrameInCall() async throws {
        // The real hello, then garbage where the reply should be.
        let hello = #"{"kind":"hello","descriptor":{"name":"trouble","version":"1","summary":"","abiMajor":1,"abiMinor":0,"atoms":[{"name":"noop","summary":"","canRevert":false,"canCheck":false}]}}"#
        let length = String(format: "\\%03o\\%03o\\%03o\\%03o", 0, 0, hello.utf8.count >> 8, hello.utf8.count & 0xFF)
        let catalog = PluginCatalog(settings: try fakeHost("printf '\(length)%s' '\(hello)'; head -c 4 >/dev/null; printf 'XXXXjunk'; sleep 5"))
        defer { catalog.shutDown() }
        let noop = try await atom("trouble.noop", in: catalog)
        let error = try #require(await failure { _ = try await noop.execute(.object([:]), context: context()) })
        #expect(error.message.contains("sent a broken frame"))
    }
}
