import AtomdSpec

/// Notes atoms send while they run (a shell step's process group), from any
/// thread: journaled in order by one task of the run, every one of them
/// before the run closes. A note sent after that is dropped with the run.
struct NoteChannel: Sendable {
    struct Note: Sendable {
        var stepID: String
        var text: String
        var data: JSONValue?
    }

    private let stream: AsyncStream<Note>
    private let continuation: AsyncStream<Note>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream()
    }

    func send(_ note: Note) {
        continuation.yield(note)
    }

    /// Journals notes as they come, until `finish()`.
    func drain(into state: RunState) async {
        for await note in stream {
            await state.note(note.stepID, note.text, data: note.data)
        }
    }

    func finish() {
        continuation.finish()
    }
}
