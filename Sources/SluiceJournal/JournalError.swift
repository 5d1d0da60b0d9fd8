/// Why the journal could not be used, as a code the caller turns into an exit code and advice
/// (the journal knows no command-line flags), and the message that says what happened.
public struct JournalError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// It cannot be opened, created or read: damaged, read-only, not a journal.
        case unusable
        /// Another process holds its lock.
        case inUse
        /// It answers for another job: `changes` says what differs.
        case otherJob(changes: [String])
        /// A commit failed during the run (disk full, file-size limit); what was committed is safe.
        case writeFailed
        /// The journal named for reading does not exist.
        case notFound
        /// The input whose identity the fingerprint needs cannot be read.
        case inputUnreadable
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
