import Logging
import SluiceJournal

/// A record's final outcome as a journal row, counted and logged: the one place an answer or a
/// permanent failure becomes a row, whichever pass resolved it (online, batch).
struct RecordOutcome {
    let counters: RunCounters
    let logger: Logger

    /// The journal update for a resolution (nil: pending), counted.
    func update(_ resolution: Dispatcher.Resolution, number: Int, offset: Int64, promptHash: String?) -> RecordUpdate? {
        switch resolution {
        case .answered(let answer, let attempts, let wasted, let tier, let shared):
            var update = RecordUpdate(number: number, byteOffset: offset, state: .done)
            update.answer = answer.text
            update.attempts = attempts
            if !shared {
                update.inputTokens = answer.usage.input + wasted.input
                update.outputTokens = answer.usage.output + wasted.output
                update.thoughtTokens = answer.usage.thought + wasted.thought
            }
            update.servedTier = tier.rawValue
            update.promptHash = promptHash
            var notes: [String] = []
            if answer.completion == .truncated { notes.append("answer cut at max_output_tokens") }
            if shared { notes.append("answer shared with an identical prompt") }
            update.note = notes.isEmpty ? nil : notes.joined(separator: "; ")
            counters.update { $0.done += 1 }
            return update
        case .failed(let error, let attempts, let wasted):
            var update = RecordUpdate(number: number, byteOffset: offset, state: .failed)
            update.error = attempts > 1 ? "\(error) (after \(attempts) attempts)" : error.description
            update.attempts = attempts
            update.inputTokens = wasted.input
            update.outputTokens = wasted.output
            update.thoughtTokens = wasted.thought
            update.promptHash = promptHash
            counters.update { $0.failed += 1 }
            logger.info("record \(number) failed: \(update.error ?? "")")
            return update
        case .pending:
            return nil
        }
    }
}
