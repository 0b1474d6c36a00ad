import Foundation
import Synchronization

/// The plugin host's side (`atomd plugin-host`): loads one plugin from an
/// inherited file descriptor, announces it, and serves calls from frames on
/// standard input until standard input closes.
public enum PluginHostServer {
    /// Serves until the agent closes the pipe; returns the exit status.
    /// `pluginFD` is the checked plugin file the agent passed down.
    public static func serve(pluginFD: Int32, file: String, expectedName: String?, memoryLimit: Int?) -> Int32 {
        // The frames get pipes of their own, closed on exec: a plugin that
        // prints to stdout writes to stderr (the step's log) instead of into
        // a frame, and a process the plugin starts holds neither pipe.
        let input = fcntl(0, F_DUPFD_CLOEXEC, 10)
        let output = fcntl(1, F_DUPFD_CLOEXEC, 10)
        guard input >= 0, output >= 0 else { return 70 }
        let null = open("/dev/null", O_RDONLY)
        if null >= 0 { dup2(null, 0); close(null) }
        dup2(2, 1)
        signal(SIGPIPE, SIG_IGN)
        if let memoryLimit {
            var limit = rlimit(rlim_cur: rlim_t(memoryLimit), rlim_max: rlim_t(memoryLimit))
            setrlimit(Int32(RLIMIT_DATA.rawValue), &limit)
        }
        let writer = FrameWriter(fd: output)
        let plugin: NativePlugin
        do {
            plugin = try NativePlugin.load(fileDescriptor: pluginFD, file: file, expectedName: expectedName)
        } catch {
            var refused = HostFrame(.refused)
            refused.message = error.message
            refused.hint = error.hint
            writer.send(refused)
            return 1
        }
        close(pluginFD)
        var hello = HostFrame(.hello)
        hello.descriptor = plugin.descriptor
        guard writer.send(hello) else { return 0 }
        serveCalls(handler: PluginCallHandler(plugin: plugin), reader: FrameReader(fd: input), writer: writer)
        return 0
    }

    private static func serveCalls(handler: PluginCallHandler, reader: FrameReader, writer: FrameWriter) {
        let running = Mutex<[UInt64: CallSink]>([:])
        while true {
            guard let frame = try? reader.next() else {
                // The agent is gone (or spoke nonsense): a call still running
                // has nobody to answer to.
                _exit(0)
            }
            guard let id = frame.id else { continue }
            switch frame.kind {
            case .call:
                guard let request = frame.request else { continue }
                let sink = CallSink(
                    log: { line in
                        var log = HostFrame(.log, id: id)
                        log.message = line
                        writer.send(log)
                    },
                    progress: { fraction, note in
                        var progress = HostFrame(.progress, id: id)
                        progress.fraction = fraction
                        progress.message = note
                        writer.send(progress)
                    })
                running.withLock { $0[id] = sink }
                OwnThread.start {
                    var result = HostFrame(.result, id: id)
                    result.reply = handler.handle(request, sink: sink)
                    running.withLock { _ = $0.removeValue(forKey: id) }
                    writer.send(result)
                }
            case .cancel:
                running.withLock { $0[id] }?.cancel()
            default:
                continue
            }
        }
    }
}
