import Foundation
import Synchronization

/// The plugin hosts of one isolated plugin. A host serves one call at a
/// time, so a crash or hang fails only that call; idle hosts are kept for
/// the next call, and a dead or bloated one is replaced by a fresh one.
final class HostPool: Sendable {
    let found: FoundPlugin
    let descriptor: PluginDescriptor
    let settings: PluginSettings
    private let idle: Mutex<[PluginHostProcess]>
    /// Hosts started since the pool was made, the first included.
    private let started = Atomic<Int>(1)

    init(found: FoundPlugin, first: PluginHostProcess, descriptor: PluginDescriptor, settings: PluginSettings) {
        self.found = found
        self.descriptor = descriptor
        self.settings = settings
        idle = Mutex([first])
    }

    var hostsStarted: Int { started.load(ordering: .relaxed) }

    /// Starts a host for the plugin file, checked again on every start.
    static func launch(_ found: FoundPlugin, settings: PluginSettings) throws(PluginError) -> (PluginHostProcess, PluginDescriptor) {
        let file = try PluginFileCheck(settings: settings).open(found.path)
        var arguments = ["plugin-host", "--file", found.path, "--name", found.name]
        if let limit = settings.memoryLimit { arguments += ["--memory-limit", String(limit)] }
        let host = try PluginHostProcess.launch(executable: settings.hostExecutable, arguments: arguments, pluginFD: file.fd,
                                                file: found.path)
        return (host, try host.handshake(timeout: .seconds(30)))
    }

    func call(_ request: PluginRequest, sink: CallSink) async -> PluginReply {
        var fresh = false
        while true {
            let host: PluginHostProcess
            switch await acquire(fresh: fresh) {
            case .success(let ready): host = ready
            case .failure(let error): return .failure(error.description)
            }
            let deadline = Date.now.addingTimeInterval(settings.callTimeout.seconds)
            let outcome = await withTaskCancellationHandler {
                await OwnThread.run { [settings] in host.call(request, sink: sink, deadline: deadline, grace: settings.cancelGrace) }
            } onCancel: {
                sink.cancel()
                host.wake()
            }
            switch outcome {
            case .replied(let reply):
                release(host, sink: sink)
                return reply
            case .notDelivered where !fresh:
                // An idle host that died unnoticed: the plugin never saw the
                // call, so a fresh host can take it.
                fresh = true
            case .notDelivered:
                return .failure("the plugin host ended before the call reached it" + host.exitNote)
            case .hostFailed(let reason):
                guard host.crashed, let limit = settings.memoryLimit else { return .failure(reason) }
                // Out of memory under RLIMIT_DATA, a plugin that does not check
                // malloc crashes: say so, or the operator hunts a bug that is a limit.
                return .failure(reason + "; plugin hosts may use \(limit >> 20) MiB (plugins.memory_limit), and running out ends many plugins this way")
            }
        }
    }

    /// An idle host that is still alive, or (with `fresh`, or none idle) a new one.
    private func acquire(fresh: Bool) async -> Result<PluginHostProcess, PluginError> {
        await OwnThread.run { () -> Result<PluginHostProcess, PluginError> in
            while !fresh, let host = self.idle.withLock({ $0.popLast() }) {
                if host.isAlive { return .success(host) }
                host.shutDown()
            }
            do throws(PluginError) {
                let (host, descriptor) = try Self.launch(self.found, settings: self.settings)
                self.started.add(1, ordering: .relaxed)
                guard descriptor == self.descriptor else {
                    host.shutDown()
                    throw PluginError(self.found.path, "changed since it was loaded (now \(descriptor.name) \(descriptor.version))",
                                      hint: "restart atomd to use the new build")
                }
                return .success(host)
            } catch {
                return .failure(error)
            }
        }
    }

    /// Keeps a healthy host for the next call; one past half its memory
    /// limit (a leak) or beyond the idle count is shut down.
    private func release(_ host: PluginHostProcess, sink: CallSink) {
        if let limit = settings.memoryLimit, let resident = host.residentBytes, resident > limit / 2 {
            sink.log("atomd: the plugin host of \(found.name) uses \(resident >> 20) MiB, over half its \(limit >> 20) MiB limit; it is replaced")
            host.shutDown()
            return
        }
        let kept = idle.withLock { hosts -> Bool in
            guard host.isAlive, hosts.count < settings.idleHosts else { return false }
            hosts.append(host)
            return true
        }
        if !kept { host.shutDown() }
    }

    /// Stops every idle host.
    func shutDown() {
        for host in idle.withLock({ hosts in defer { hosts.removeAll() }; return hosts }) { host.shutDown() }
    }
}

extension HostPool: PluginConnection {}
