import SluiceJSON

/// What the simulated Files and Batch APIs saw: a test proves from these that a resumed job
/// uploaded and created nothing twice.
public struct BatchStats: Sendable, Equatable {
    public var uploadsStarted = 0
    public var uploadChunks = 0
    /// Chunk requests answered without `x-goog-upload-status` (the client must send them again).
    public var uploadChunkFaults = 0
    public var filesUploaded = 0
    public var batchesCreated = 0
    /// Creates refused with 429: the enqueued-token cap or the live-batch cap.
    public var createsRefused = 0
    public var linesAnswered = 0
    public var linesFailed = 0
    public var cancelled = 0
    public var deleted = 0
    public var downloads = 0
    public var lists = 0

    public init() {}

    var json: JSONValue {
        [
            "uploads_started": JSONValue(uploadsStarted), "upload_chunks": JSONValue(uploadChunks),
            "upload_chunk_faults": JSONValue(uploadChunkFaults), "files_uploaded": JSONValue(filesUploaded),
            "batches_created": JSONValue(batchesCreated), "creates_refused": JSONValue(createsRefused),
            "lines_answered": JSONValue(linesAnswered), "lines_failed": JSONValue(linesFailed),
            "cancelled": JSONValue(cancelled), "deleted": JSONValue(deleted), "downloads": JSONValue(downloads),
            "lists": JSONValue(lists),
        ]
    }
}

/// Files, batch jobs and their counters: guarded by one lock in the simulator.
struct BatchState: Sendable {
    var files = FileStore()
    var jobs: [String: BatchJob] = [:]
    /// Job ids, newest first (the order `batches.list` returns them).
    var order: [String] = []
    var stats = BatchStats()
}
