import Foundation
import Testing
@testable import AtomdAgent

/// inotify on a real directory: the events a producer's rename and write cause.
@Suite struct SpoolWatcherTests {
    func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-watch-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func aRenameAndAWriteInPlaceAreReportedInOrder() async throws {
        let incoming = try directory()
        let watcher = try SpoolWatcher(directory: incoming)
        var events = watcher.events.makeAsyncIterator()

        let outside = try directory() + "/job.yaml"
        try "version: 1\n".write(toFile: outside, atomically: false, encoding: .utf8)
        #expect(rename(outside, incoming + "/renamed.yaml") == 0)
        #expect(await events.next() == .arrived("renamed.yaml"))

        let fd = open(incoming + "/written.yaml", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        #expect(await events.next() == .created("written.yaml"))
        #expect(write(fd, "x", 1) == 1)
        close(fd)
        #expect(await events.next() == .arrived("written.yaml"))

        // A hard link gets only its creation; the spool sees it is one.
        let original = try directory() + "/original.yaml"
        try "version: 1\n".write(toFile: original, atomically: false, encoding: .utf8)
        #expect(link(original, incoming + "/linked.yaml") == 0)
        #expect(await events.next() == .created("linked.yaml"))

        watcher.stop()
        #expect(await events.next() == nil)
    }

    @Test func aMissingDirectoryCannotBeWatched() {
        #expect(throws: SpoolError.self) { try SpoolWatcher(directory: "/nonexistent/incoming") }
    }

    /// Builds one raw inotify record.
    func record(mask: UInt32, name: String, padTo length: Int) -> [UInt8] {
        var event = inotify_event()
        event.mask = mask
        event.len = UInt32(length)
        var bytes = withUnsafeBytes(of: event) { Array($0) }
        let nameBytes = Array(name.utf8)
        bytes += nameBytes + [UInt8](repeating: 0, count: length - nameBytes.count)
        return bytes
    }

    @Test func recordsAreParsedWithTheirPaddingAndAnOverflowAsksForARescan() {
        let bytes = record(mask: UInt32(IN_MOVED_TO), name: "a.yaml", padTo: 16)
            + record(mask: UInt32(IN_Q_OVERFLOW), name: "", padTo: 0)
            + record(mask: UInt32(IN_CLOSE_WRITE), name: "b.yaml", padTo: 8)
        #expect(SpoolWatcher.parse(bytes[...]) == [.arrived("a.yaml"), .rescan, .arrived("b.yaml")])
        // A truncated buffer yields the whole records and no half a name.
        #expect(SpoolWatcher.parse(bytes[0..<(bytes.count - 3)]) == [.arrived("a.yaml"), .rescan])
        #expect(SpoolWatcher.parse(bytes[0..<10]) == [])
    }
}
