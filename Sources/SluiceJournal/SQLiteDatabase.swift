import CSQLite
#if canImport(Glibc)
import Glibc
#endif

/// A SQLite connection with prepared statements; errors carry SQLite's message and code.
final class SQLiteDatabase {
    let path: String
    private(set) var handle: OpaquePointer?

    init(path: String) throws(JournalError) {
        self.path = path
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "error \(rc)"
            sqlite3_close(db)
            throw JournalError(.unusable, "journal \(path): cannot open: \(message)")
        }
        handle = db
        sqlite3_busy_timeout(db, 5_000)
    }

    deinit { sqlite3_close_v2(handle) }

    func error(_ what: String) -> JournalError {
        let code = sqlite3_extended_errcode(handle)
        var message = String(cString: sqlite3_errmsg(handle))
        if code & 0xFF == SQLITE_FULL { message = "the disk is full (\(message))" }
        if code & 0xFF == SQLITE_READONLY { message = "the journal is read-only (\(message))" }
        if code & 0xFF == SQLITE_CORRUPT || code & 0xFF == SQLITE_NOTADB { message = "the journal is damaged or not a Sluice journal (\(message))" }
        if code & 0xFF == SQLITE_IOERR {
            // The operating system's reason says what to do: EFBIG, ENOSPC, EDQUOT, EIO.
            let errno = sqlite3_system_errno(handle)
            if errno != 0 { message += " (\(String(cString: strerror(errno))))" }
        }
        return JournalError(.unusable, "journal \(path): \(what): \(message)")
    }

    func execute(_ sql: String) throws(JournalError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(handle, sql, nil, nil, &errorMessage) != SQLITE_OK {
            sqlite3_free(errorMessage)
            throw error(sql.split(separator: " ").prefix(3).joined(separator: " "))
        }
    }

    func prepare(_ sql: String) throws(JournalError) -> SQLiteStatement {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else { throw error("prepare") }
        return SQLiteStatement(statement, database: self)
    }

    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    func transaction<T>(_ body: () throws(JournalError) -> T) throws(JournalError) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }
}

/// A prepared statement; `bind` by 1-based index, `step` until done.
final class SQLiteStatement {
    private let statement: OpaquePointer
    private unowned let database: SQLiteDatabase

    init(_ statement: OpaquePointer, database: SQLiteDatabase) {
        self.statement = statement
        self.database = database
    }

    deinit { sqlite3_finalize(statement) }

    func reset() {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
    }

    func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(statement, index, value) } else { sqlite3_bind_null(statement, index) }
    }
    func bind(_ index: Int32, _ value: Int?) { bind(index, value.map(Int64.init)) }
    func bind(_ index: Int32, _ value: String?) {
        if let value { sqlite3_bind_text(statement, index, value, -1, csqlite_transient()) } else { sqlite3_bind_null(statement, index) }
    }
    func bind(_ index: Int32, _ value: Double?) {
        if let value { sqlite3_bind_double(statement, index, value) } else { sqlite3_bind_null(statement, index) }
    }

    /// true while rows come back.
    func step() throws(JournalError) -> Bool {
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw database.error("step")
        }
    }

    func run() throws(JournalError) {
        _ = try step()
        reset()
    }

    func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(statement, column)) }
    func double(_ column: Int32) -> Double { sqlite3_column_double(statement, column) }
    func string(_ column: Int32) -> String? {
        guard sqlite3_column_type(statement, column) != SQLITE_NULL, let text = sqlite3_column_text(statement, column) else { return nil }
        return String(cString: text)
    }
}
