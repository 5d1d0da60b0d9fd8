import SluiceEngine
import SluiceJournal

/// What the user can do about an error, in terms of this CLI's flags: the Engine and the
/// journal report codes, the command line knows the flags.
enum ErrorAdvice {
    static func text(for error: SluiceError) -> String {
        guard let code = error.journal, let advice = advice(for: code) else { return error.message }
        return error.message + "\n" + advice
    }

    static func advice(for code: JournalError.Code) -> String? {
        switch code {
        case .unusable:
            "The journal cannot be used. If it is damaged, move it aside (with its -wal file: they may still hold paid answers) "
                + "or pass --restart to start over; if its directory is read-only, pass --journal with a writable path."
        case .inUse:
            "Wait for it to finish or use another --journal."
        case .otherJob:
            "Run with --restart to discard it and start over, or pass another --journal."
        case .writeFailed, .notFound, .inputUnreadable:
            nil
        }
    }
}
