import SluiceEngine
import SluiceJournal

/// The documented exit codes (README, design.md), and what to tell the user, in terms of this
/// CLI's flags: the Engine reports codes and reasons, only the command line knows its flags.
enum ExitStatus {
    static let ok: Int32 = 0
    static let failure: Int32 = 1
    static let someRecordsFailed: Int32 = 2
    static let usage: Int32 = 64
    static let badInput: Int32 = 65
    static let resumable: Int32 = 75

    static func code(for error: EngineError) -> Int32 {
        switch error.code {
        case .usage, .columnClash: usage
        case .badInput: badInput
        case .journal(.otherJob), .journal(.notFound), .journal(.inputUnreadable): usage
        case .journal, .failure: failure
        }
    }

    /// The error's message, then what to do about it.
    static func text(for error: EngineError) -> String {
        switch error.code {
        case .columnClash:
            error.message + "; choose another --column or pass --overwrite-columns"
        case .journal(.unusable):
            error.message + "\nThe journal cannot be used. If it is damaged, move it aside (with its -wal file: they may still hold paid answers) "
                + "or pass --restart to start over; if its directory is read-only, pass --journal with a writable path."
        case .journal(.inUse):
            error.message + "; wait for it to finish or use another --journal"
        case .journal(.otherJob):
            error.message + "\nRun with --restart to discard it and start over, or pass another --journal."
        default:
            error.message
        }
    }

    static func code(for status: EnrichmentJob.Outcome.Status) -> Int32 {
        switch status {
        case .complete: ok
        case .someFailed: someRecordsFailed
        case .stopped(.fatal), .stopped(.untrustedServer): failure
        case .stopped, .waitBudgetExceeded: resumable
        }
    }

    /// What a run that did not complete says last.
    static func message(for status: EnrichmentJob.Outcome.Status) -> String? {
        switch status {
        case .complete, .someFailed:
            nil
        case .stopped(.quota(let why)):
            "\(why). Answers so far are journaled; run the same command again later to resume."
        case .stopped(.interrupted):
            "interrupted; answers so far are journaled; run the same command again to resume."
        case .stopped(.budget(let cap)):
            String(format: "stopped before exceeding --max-cost $%.2f. ", cap)
                + "Answers so far are journaled; raise --max-cost and run the same command again to go on."
        case .stopped(.fatal(let why)):
            why
        case .stopped(.untrustedServer(let why)):
            "\(why)\nIf the endpoint is signed by a private certificate authority (a TLS proxy's, `sluice simulate --tls`'s), "
                + "trust it with --ca-file FILE or SSL_CERT_FILE=FILE; no answers were lost, run the same command again."
        case .waitBudgetExceeded(let records):
            "\(records) record(s) ran out of --max-wait and are still pending; run the same command again to resume (or pass --fallback standard)."
        }
    }
}
