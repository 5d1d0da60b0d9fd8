/// One batch job of the simulated Batch API, as a pure value on the simulator's clock (service
/// seconds since it started): its state at any moment follows from when it was created, its
/// drawn turnaround and whether it was cancelled — no timer moves it.
struct BatchJob: Sendable {
    enum State: String, Sendable, CaseIterable {
        case pending = "BATCH_STATE_PENDING"
        case running = "BATCH_STATE_RUNNING"
        case succeeded = "BATCH_STATE_SUCCEEDED"
        case failed = "BATCH_STATE_FAILED"
        case cancelled = "BATCH_STATE_CANCELLED"
        case expired = "BATCH_STATE_EXPIRED"

        var isLive: Bool { self == .pending || self == .running }
    }

    /// How a job ends when nobody cancels it.
    enum Ending: Sendable { case succeed, fail, expire }

    let id: String
    var name: String { "batches/\(id)" }
    let displayName: String
    let model: String
    /// The uploaded input file (`files/…`), or nil for inline requests.
    let inputFile: String?
    let lines: [BatchLine]
    let enqueuedTokens: Int
    let createdAt: Double
    let runningAt: Double
    let endsAt: Double
    let ending: Ending
    var cancelledAt: Double?
    var deleted = false
    /// Set once the results exist (a generated file, or inline responses).
    var results: BatchResults?
    /// Results are being computed by one poller; others see the job running meanwhile.
    var generating = false

    func state(at t: Double) -> State {
        if let c = cancelledAt, c < endsAt { return .cancelled }
        if t < runningAt { return .pending }
        if t < endsAt || (ending == .succeed && results == nil) { return .running }
        switch ending {
        case .succeed: return .succeeded
        case .fail: return .failed
        case .expire: return .expired
        }
    }

    /// When the job stopped changing (cancel, or its end).
    func endTime(at t: Double) -> Double? {
        if let c = cancelledAt, c < endsAt { return c }
        return state(at: t).isLive ? nil : endsAt
    }
}

/// One request of a batch: its key and generateContent body.
struct BatchLine: Sendable {
    var key: String
    var request: JSONValue?
    /// Why the line could not be read (answered with a per-line 400).
    var problem: String?
}

/// What a finished batch produced.
struct BatchResults: Sendable {
    /// `files/batch-…-output` for a file-based batch.
    var file: String?
    /// Inline batches: one `{metadata:{key}, response|error}` per request.
    var inline: [JSONValue]?
    var succeeded: Int
    var failed: Int
}

import SluiceJSON
