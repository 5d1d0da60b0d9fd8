import SluiceFormats
import SluiceJournal

/// A failure that ends a command, with the documented exit code it maps to.
public struct SluiceError: Error, Sendable, CustomStringConvertible {
    /// The exit codes of design.md.
    public enum ExitCode: Int32, Sendable {
        case ok = 0
        case failure = 1
        case someRecordsFailed = 2
        case usage = 64
        case badInput = 65
        case resumable = 75
    }

    public var exitCode: ExitCode
    public var message: String
    /// Set when the journal was the problem: the CLI adds the advice for it.
    public var journal: JournalError.Code?

    public init(_ exitCode: ExitCode, _ message: String) {
        self.exitCode = exitCode
        self.message = message
    }

    public init(_ format: FormatError) {
        exitCode = format.code == .io ? .failure : .badInput
        message = format.description
    }

    public init(_ journal: JournalError) {
        switch journal.code {
        case .otherJob, .notFound, .inputUnreadable: exitCode = .usage
        case .unusable, .inUse, .writeFailed: exitCode = .failure
        }
        message = journal.message
        self.journal = journal.code
    }

    public var description: String { message }
}
