#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The job's SQLite journal (WAL): fingerprint, and every record's state, answer, usage and
/// attempts. An answer is durable here before it counts as done; the merge pass reads it back.
public final class Journal {
    public let path: String
    let db: SQLiteDatabase
    private let lockDescriptor: Int32
    private let upsert: SQLiteStatement

    static let schemaVersion = "1"

    /// Opens (or creates) the journal for a job. A journal of another job is refused unless
    /// `restart`, which discards it. A journal another process holds is refused.
    public init(path: String, fingerprint: JobFingerprint, restart: Bool) throws(JournalError) {
        self.path = path
        lockDescriptor = open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if lockDescriptor < 0 {
            throw JournalError(.unusable, "journal \(path): cannot create its lock file: \(String(cString: strerror(errno)))")
        }
        if flock(lockDescriptor, LOCK_EX | LOCK_NB) != 0 {
            close(lockDescriptor)
            throw JournalError(.inUse, "journal \(path) is in use by another sluice process")
        }
        if restart {
            for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
        }
        do {
            db = try SQLiteDatabase(path: path)
            // A damaged file (truncated, overwritten) is found here, before any work depends on it.
            try Self.checkIntegrity(db, path: path)
            try db.execute("PRAGMA journal_mode=WAL")
            try db.execute("PRAGMA synchronous=FULL")
            try db.execute("""
                CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS records(
                  number INTEGER PRIMARY KEY, byte_offset INTEGER NOT NULL, state TEXT NOT NULL,
                  answer TEXT, error TEXT, note TEXT, input_tokens INTEGER NOT NULL DEFAULT 0,
                  output_tokens INTEGER NOT NULL DEFAULT 0, thought_tokens INTEGER NOT NULL DEFAULT 0,
                  attempts INTEGER NOT NULL DEFAULT 0, served_tier TEXT, prompt_hash TEXT, updated REAL NOT NULL);
                CREATE TABLE IF NOT EXISTS waves(
                  wave INTEGER PRIMARY KEY, display_name TEXT NOT NULL, state TEXT NOT NULL, file_name TEXT, batch_name TEXT,
                  records INTEGER NOT NULL DEFAULT 0, tokens INTEGER NOT NULL DEFAULT 0, error TEXT, updated REAL NOT NULL);
                """)
            // Journals written before Batch mode have no wave column.
            let columns = try db.prepare("SELECT count(*) FROM pragma_table_info('records') WHERE name='wave'")
            if try columns.step(), columns.int(0) == 0 { try db.execute("ALTER TABLE records ADD COLUMN wave INTEGER") }
            try db.execute("CREATE INDEX IF NOT EXISTS records_wave ON records(wave) WHERE wave IS NOT NULL")
            upsert = try db.prepare("""
                INSERT INTO records(number, byte_offset, state, answer, error, note, input_tokens, output_tokens, thought_tokens, attempts, served_tier, prompt_hash, updated, wave)
                VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                ON CONFLICT(number) DO UPDATE SET state=excluded.state, answer=excluded.answer, error=excluded.error, note=excluded.note,
                  input_tokens=records.input_tokens+excluded.input_tokens, output_tokens=records.output_tokens+excluded.output_tokens,
                  thought_tokens=records.thought_tokens+excluded.thought_tokens, attempts=max(records.attempts, excluded.attempts),
                  served_tier=coalesce(excluded.served_tier, records.served_tier), prompt_hash=coalesce(excluded.prompt_hash, records.prompt_hash),
                  updated=excluded.updated, wave=coalesce(excluded.wave, records.wave)
                """)
            try checkFingerprint(fingerprint)
        } catch {
            flock(lockDescriptor, LOCK_UN)
            close(lockDescriptor)
            // A damaged or unwritable journal is never replaced behind the user's back: it may
            // still hold answers that were paid for (the caller's advice says how to go on).
            throw error
        }
    }

    private var released = false

    /// The journal for the scope of `body`: the job lock is released when `body` returns or
    /// throws, not whenever the object happens to be freed.
    public static func with<T>(path: String, fingerprint: JobFingerprint, restart: Bool,
                               _ body: (Journal) async throws -> T) async throws -> T {
        let journal = try Journal(path: path, fingerprint: fingerprint, restart: restart)
        defer { journal.release() }
        return try await body(journal)
    }

    /// Releases the job lock; idempotent (the SQLite handle closes with the object).
    public func release() {
        guard !released else { return }
        released = true
        flock(lockDescriptor, LOCK_UN)
        close(lockDescriptor)
    }

    deinit { release() }

    static func checkIntegrity(_ db: SQLiteDatabase, path: String) throws(JournalError) {
        let check = try db.prepare("PRAGMA quick_check(1)")
        let hasRow = try check.step()
        if hasRow, let verdict = check.string(0), verdict != "ok" {
            throw JournalError(.unusable, "journal \(path) is damaged: \(verdict)")
        }
    }

    private func checkFingerprint(_ fingerprint: JobFingerprint) throws(JournalError) {
        let stored = try meta()
        if stored.isEmpty {
            try db.transaction { () throws(JournalError) in
                let insert = try db.prepare("INSERT INTO meta(key, value) VALUES(?1, ?2)")
                for (key, value) in [("schema_version", Self.schemaVersion), ("created", ISO8601DateFormatter().string(from: Date()))] + fingerprint.components.map({ ("fp." + $0.name, $0.value) }) {
                    insert.bind(1, key)
                    insert.bind(2, value)
                    try insert.run()
                }
            }
            return
        }
        var previous: [String: String] = [:]
        for (key, value) in stored where key.hasPrefix("fp.") { previous[String(key.dropFirst(3))] = value }
        let changes = fingerprint.differences(from: previous)
        if !changes.isEmpty {
            throw JournalError(.otherJob(changes: changes), "journal \(path) belongs to a different job: \(changes.joined(separator: "; ")).")
        }
    }

    /// All meta entries.
    public func meta() throws(JournalError) -> [String: String] { try JournalReader(db: db).meta() }

    public func setMeta(_ key: String, _ value: String) throws(JournalError) {
        let statement = try db.prepare("INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value=excluded.value")
        statement.bind(1, key)
        statement.bind(2, value)
        try statement.run()
    }

    /// Records that need no request: done ones, and failed ones unless they are to be retried.
    public func finalRecords(retryFailed: Bool) throws(JournalError) -> RecordSet {
        let query = try db.prepare(retryFailed ? "SELECT number FROM records WHERE state='done'" : "SELECT number FROM records WHERE state IN ('done','failed')")
        var set = RecordSet()
        while try query.step() { set.insert(query.int(0)) }
        return set
    }

    /// Writes a batch in one transaction (one fsync): the group commit.
    public func commit(_ updates: [RecordUpdate]) throws(JournalError) {
        guard !updates.isEmpty else { return }
        let now = Date().timeIntervalSince1970
        try db.transaction { () throws(JournalError) in
            for u in updates {
                upsert.bind(1, u.number)
                upsert.bind(2, u.byteOffset)
                upsert.bind(3, u.state.rawValue)
                upsert.bind(4, u.answer)
                upsert.bind(5, u.error)
                upsert.bind(6, u.note)
                upsert.bind(7, u.inputTokens)
                upsert.bind(8, u.outputTokens)
                upsert.bind(9, u.thoughtTokens)
                upsert.bind(10, u.attempts)
                upsert.bind(11, u.servedTier)
                upsert.bind(12, u.promptHash)
                upsert.bind(13, now)
                upsert.bind(14, u.wave)
                try upsert.run()
            }
        }
    }

    /// A final record as the merge pass needs it.
    public struct Outcome: Sendable {
        public var number: Int
        public var state: RecordState
        public var answer: String?
        public var error: String?

        public init(number: Int, state: RecordState, answer: String? = nil, error: String? = nil) {
            self.number = number
            self.state = state
            self.answer = answer
            self.error = error
        }
    }

    /// Streams final outcomes in record order, a page at a time.
    public func outcomes(after number: Int, limit: Int) throws(JournalError) -> [Outcome] {
        let query = try db.prepare("SELECT number, state, answer, error FROM records WHERE number > ?1 ORDER BY number LIMIT ?2")
        query.bind(1, number)
        query.bind(2, limit)
        var out: [Outcome] = []
        while try query.step() {
            out.append(Outcome(number: query.int(0), state: RecordState(rawValue: query.string(1) ?? "") ?? .inFlight, answer: query.string(2), error: query.string(3)))
        }
        return out
    }

    /// Counts and token sums by state.
    public struct Summary: Sendable, Equatable {
        public var done = 0
        public var failed = 0
        public var inFlight = 0
        public var inputTokens = 0
        public var outputTokens = 0
        public var thoughtTokens = 0
        public var attempts = 0

        public init() {}
    }

    public func summary() throws(JournalError) -> Summary { try JournalReader(db: db).summary() }

}

/// Read-only queries on a journal: `sluice status`, and tests that check what was journaled.
public struct JournalReader {
    let db: SQLiteDatabase
    /// A run killed while creating the journal leaves a file without tables: it holds nothing yet.
    let empty: Bool

    init(db: SQLiteDatabase) {
        self.db = db
        empty = false
    }

    /// Opens an existing journal without taking the job lock.
    public init(path: String) throws(JournalError) {
        guard FileManager.default.fileExists(atPath: path) else { throw JournalError(.notFound, "journal \(path): no such file") }
        db = try SQLiteDatabase(path: path)
        let tables = try db.prepare("SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN ('meta','records')")
        empty = try tables.step() ? tables.int(0) < 2 : true
    }

    public func meta() throws(JournalError) -> [String: String] {
        if empty { return [:] }
        let query = try db.prepare("SELECT key, value FROM meta")
        var out: [String: String] = [:]
        while try query.step() { out[query.string(0) ?? ""] = query.string(1) ?? "" }
        return out
    }

    public func summary() throws(JournalError) -> Journal.Summary {
        var s = Journal.Summary()
        if empty { return s }
        let query = try db.prepare("SELECT state, count(*), sum(input_tokens), sum(output_tokens), sum(thought_tokens), sum(attempts) FROM records GROUP BY state")
        while try query.step() {
            switch query.string(0) {
            case "done": s.done = query.int(1)
            case "failed": s.failed = query.int(1)
            default: s.inFlight = query.int(1)
            }
            s.inputTokens += query.int(2)
            s.outputTokens += query.int(3)
            s.thoughtTokens += query.int(4)
            s.attempts += query.int(5)
        }
        return s
    }

    /// Prompt hashes of the records in `state`.
    public func promptHashes(state: RecordState) throws(JournalError) -> [String] {
        if empty { return [] }
        let query = try db.prepare("SELECT prompt_hash FROM records WHERE state = ?1 AND prompt_hash IS NOT NULL ORDER BY number")
        query.bind(1, state.rawValue)
        var out: [String] = []
        while try query.step() { out.append(query.string(0) ?? "") }
        return out
    }
}
