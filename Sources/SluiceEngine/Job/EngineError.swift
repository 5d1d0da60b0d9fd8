import SluiceFormats
import SluiceJournal

/// A failure that ends a command: a code the CLI turns into an exit code and flag advice (the
/// Engine knows neither), and a message that says what happened and where.
public struct EngineError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The job as asked cannot run: a template variable the input lacks, a bad setting.
        case usage
        /// The input data cannot be read; the message names file, record, line and offset.
        case badInput
        /// New columns that the input already has.
        case columnClash([String])
        /// The journal could not be used.
        case journal(JournalError.Code)
        /// Anything else: I/O, the service refusing the job.
        case failure
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public init(_ format: FormatError) {
        code = format.code == .io ? .failure : .badInput
        message = format.description
    }

    public init(_ journal: JournalError) {
        code = .journal(journal.code)
        message = journal.message
    }

    /// Whatever a pass threw, as the command's error: the engine's, the journal's and the
    /// formats' errors keep their codes; anything else is a failure.
    public init(anyError error: any Error) {
        switch error {
        case let error as EngineError: self = error
        case let error as JournalError: self.init(error)
        case let error as FormatError: self.init(error)
        default: self.init(.failure, "\(error)")
        }
    }

    public var description: String { message }
}
