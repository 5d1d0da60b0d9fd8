import Foundation

/// One Batch API wave of a job: the records sent in one batch, and how far it got. Written
/// before each step that creates something remote, so a restart knows what may exist.
public struct BatchWave: Sendable, Equatable {
    public enum State: String, Sendable {
        /// Its records are marked; the input file may be half uploaded. A batch may already
        /// exist if the process died right after creating it: looked up by display name.
        case preparing
        /// Its input file is uploaded (`fileName`).
        case uploaded
        /// Its batch exists (`batchName`): poll it.
        case submitted
        /// Its results are journaled.
        case finished
        /// Ended without results (expired, failed, cancelled, gone): its records are pending again.
        case lost

        /// Whether its records may still get answers from it (and must not be sent again).
        public var isLive: Bool { self == .preparing || self == .uploaded || self == .submitted }
    }

    public var number: Int
    /// Unique per job and wave: how a batch created just before a crash is found again.
    public var displayName: String
    public var state: State
    public var fileName: String?
    public var batchName: String?
    public var records: Int
    public var tokens: Int
    public var error: String?

    public init(number: Int, displayName: String, state: State, records: Int = 0, tokens: Int = 0) {
        self.number = number
        self.displayName = displayName
        self.state = state
        self.records = records
        self.tokens = tokens
    }
}

/// A record of a wave, as the batch pass needs it to journal the wave's results.
public struct WaveRecord: Sendable, Equatable {
    public var number: Int
    public var byteOffset: Int64
    public var promptHash: String?
    public var attempts: Int
}

extension Journal {
    /// Every wave of the job, in order.
    public func waves() throws(JournalError) -> [BatchWave] { try JournalReader(db: db).waves() }

    /// Inserts or replaces a wave.
    public func save(_ wave: BatchWave) throws(JournalError) {
        let statement = try db.prepare("""
            INSERT INTO waves(wave, display_name, state, file_name, batch_name, records, tokens, error, updated) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
            ON CONFLICT(wave) DO UPDATE SET display_name=excluded.display_name, state=excluded.state, file_name=excluded.file_name,
              batch_name=excluded.batch_name, records=excluded.records, tokens=excluded.tokens, error=excluded.error, updated=excluded.updated
            """)
        statement.bind(1, wave.number)
        statement.bind(2, wave.displayName)
        statement.bind(3, wave.state.rawValue)
        statement.bind(4, wave.fileName)
        statement.bind(5, wave.batchName)
        statement.bind(6, wave.records)
        statement.bind(7, wave.tokens)
        statement.bind(8, wave.error)
        statement.bind(9, Date().timeIntervalSince1970)
        try statement.run()
    }

    /// Records still waiting in a live wave: never sent again while it may answer them.
    public func recordsInLiveWaves() throws(JournalError) -> RecordSet {
        let query = try db.prepare("""
            SELECT r.number FROM records r JOIN waves w ON r.wave = w.wave
            WHERE r.state = 'submitted' AND w.state IN ('preparing', 'uploaded', 'submitted')
            """)
        var set = RecordSet()
        while try query.step() { set.insert(query.int(0)) }
        return set
    }

    /// The records a wave is waiting for, in record order.
    public func waiting(inWave wave: Int) throws(JournalError) -> [WaveRecord] {
        let query = try db.prepare("SELECT number, byte_offset, prompt_hash, attempts FROM records WHERE wave = ?1 AND state = 'submitted' ORDER BY number")
        query.bind(1, wave)
        var out: [WaveRecord] = []
        while try query.step() {
            out.append(WaveRecord(number: query.int(0), byteOffset: Int64(query.int(1)), promptHash: query.string(2), attempts: query.int(3)))
        }
        return out
    }
}

extension JournalReader {
    public func waves() throws(JournalError) -> [BatchWave] {
        if empty { return [] }
        let exists = try db.prepare("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='waves'")
        guard try exists.step(), exists.int(0) > 0 else { return [] }
        let query = try db.prepare("SELECT wave, display_name, state, file_name, batch_name, records, tokens, error FROM waves ORDER BY wave")
        var out: [BatchWave] = []
        while try query.step() {
            var wave = BatchWave(number: query.int(0), displayName: query.string(1) ?? "", state: BatchWave.State(rawValue: query.string(2) ?? "") ?? .lost,
                                 records: query.int(5), tokens: query.int(6))
            wave.fileName = query.string(3)
            wave.batchName = query.string(4)
            wave.error = query.string(7)
            out.append(wave)
        }
        return out
    }
}

/// A record a wave ended without answering: how many waves it has been in, and why the last
/// one did not answer it.
public struct WaveRetry: Sendable, Equatable {
    public var attempts: Int
    public var error: String?
}

extension Journal {
    /// Records that waves ended without a final answer for, by number: pending again.
    public func waveRetries() throws(JournalError) -> [Int: WaveRetry] {
        let query = try db.prepare("""
            SELECT r.number, r.attempts, r.error FROM records r JOIN waves w ON r.wave = w.wave
            WHERE r.state = 'submitted' AND w.state IN ('finished', 'lost')
            """)
        var out: [Int: WaveRetry] = [:]
        while try query.step() { out[query.int(0)] = WaveRetry(attempts: query.int(1), error: query.string(2)) }
        return out
    }
}
