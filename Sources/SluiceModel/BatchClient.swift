/// A provider's batch API (Gemini's Batch API today): requests written to a file, uploaded,
/// answered within hours at half price, results downloaded as a file. The Engine drives it
/// (`BatchPass`); like `ModelClient`, it names no provider.
public protocol BatchClient: Sendable {
    /// One line of the input file: `request` under `key`, in the provider's format.
    func requestLine(key: String, request: GenerationRequest) -> [UInt8]

    /// Uploads the file at `path` (resumably, in chunks); returns the provider's file name.
    func upload(path: String, displayName: String) async throws(ModelError) -> String

    /// Creates a batch over an uploaded file. Not idempotent: look for `displayName` first
    /// after a restart. A `rateLimited` error means the provider's queue is full for now.
    func createBatch(model: String, file: String, displayName: String) async throws(ModelError) -> BatchJobStatus

    func batchStatus(name: String) async throws(ModelError) -> BatchJobStatus

    /// The batch with this display name, if one exists (a create that finished just before a crash).
    func findBatch(displayName: String) async throws(ModelError) -> BatchJobStatus?

    func cancelBatch(name: String) async throws(ModelError)

    /// Downloads a results file to `path`, streamed.
    func download(file: String, to path: String) async throws(ModelError)

    /// Reads one line of a results file: its key and the answer (checked as an online answer
    /// is) or the error for that request. Nil for a line that names no key.
    func readResult(line: [UInt8], request: (String) -> GenerationRequest?) -> (key: String, result: Result<GenerationResult, ModelError>)?
}

/// Where a batch is, in provider-neutral terms.
public struct BatchJobStatus: Sendable, Equatable {
    public enum State: String, Sendable {
        case pending, running, succeeded, failed, cancelled, expired

        public var isFinal: Bool { !(self == .pending || self == .running) }
    }

    public var name: String
    public var displayName: String
    public var state: State
    /// The results file, once succeeded.
    public var resultsFile: String?
    public var requestCount: Int?
    public var error: String?

    public init(name: String, displayName: String, state: State, resultsFile: String? = nil, requestCount: Int? = nil, error: String? = nil) {
        self.name = name
        self.displayName = displayName
        self.state = state
        self.resultsFile = resultsFile
        self.requestCount = requestCount
        self.error = error
    }
}
