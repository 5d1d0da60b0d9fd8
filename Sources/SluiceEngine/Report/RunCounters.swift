import SluiceModel
import Synchronization

/// Live counts of a run, shared by the dispatcher and the progress display.
public final class RunCounters: Sendable {
    public struct Snapshot: Sendable, Equatable {
        public var total: Int?
        public var alreadyDone = 0
        public var done = 0
        public var failed = 0
        /// Bad records skipped by the `skip` bad-record policy (in the dead-letter file).
        public var badRecords = 0
        public var inFlight = 0
        public var requests = 0
        public var retries = 0
        public var shed = 0
        public var rateLimited = 0
        public var usage = TokenUsage()
        public var usageByTier: [ServiceTier: TokenUsage] = [:]
        public var answersByTier: [ServiceTier: Int] = [:]
        /// Seconds from send to answer, in bounded memory.
        public var latency = LatencyHistogram()
        /// The in-flight limit now (the least of the three).
        public var limit = 0
        /// Requests not sent because an identical prompt's answer was shared.
        public var dedupeSaved = 0
        /// Answers obtained at the fallback tier after Flex shed them.
        public var fallbacks = 0
        /// Records left pending because their wait budget ran out.
        public var waitBudgetExceeded = 0
        /// Packed requests sent (`--pack`), the records they carried, and records sent again
        /// because their pack left them out, spoiled them, or failed as a whole.
        public var packs = 0
        public var packedRecords = 0
        public var resentItems = 0
        /// Input tokens the packed records would have taken one per request (estimated:
        /// characters / 4 of each prompt and the system instruction).
        public var packedOneByOneInput = 0
        /// Records written so far by the output pass (or rendered by a dry run); nil before it starts.
        public var written: Int?
        /// What `written` counts, for the progress line.
        public var writingPhase = "writing the output, records"
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    func update(_ body: (inout Snapshot) -> Void) { state.withLock { body(&$0) } }
}
