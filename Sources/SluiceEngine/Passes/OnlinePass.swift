import Logging
import SluiceFormats
import SluiceJSON
import SluiceJournal
import SluiceModel

/// Pass 1 online: renders each record without a final answer and resolves it through the
/// dispatcher (its limiter, retries, dedupe), with as many records in process as the ceiling.
struct OnlinePass: AnswerPass {
    let options: JobConfiguration
    let dispatcher: Dispatcher
    let counters: RunCounters
    let stop: StopSignal
    let logger: Logger

    func run(input: RecordInput, finals: RecordSet, writer: JournalWriter, inputColumns: [String]) async throws -> [String] {
        var union = FieldUnion(input.reader.columns ?? inputColumns)
        let collect = input.reader.columns == nil
        let stage = PromptStage(template: options.prompt.template)
        try await withThrowingTaskGroup(of: Void.self) { group in
            var running = 0
            var total = 0
            var badInput: FormatError?
            while !stop.isSet {
                let next: RecordInput.Entry?
                do {
                    next = try input.next()
                } catch {
                    // Stop reading, but let the requests already sent finish and be journaled.
                    badInput = (error as? FormatError) ?? FormatError(.io, "\(error)", file: options.input.path)
                    break
                }
                guard let entry = next else { break }
                if let limit = options.input.limit, entry.number > limit { break }
                total = entry.number
                guard case .record(let record) = entry else {
                    if case .bad(let error) = entry {
                        counters.update { $0.badRecords += 1 }
                        logger.warning("skipping bad record: \(error)")
                    }
                    continue
                }
                if collect { union.add(record.fields) }
                if finals.contains(record.number) {
                    counters.update { $0.alreadyDone += 1 }
                    continue
                }
                // Records in process (on the wire or in backoff) are bounded by the ceiling and the
                // memory budget; the dispatcher's in-flight limit bounds requests on the wire.
                while running >= dispatcher.recordCap {
                    try await group.next()
                    running -= 1
                }
                let number = record.number
                let offset = record.byteOffset
                switch stage.prepare(record) {
                case .missing(let missing):
                    var update = RecordUpdate(number: number, byteOffset: offset, state: .failed)
                    update.error = "record \(number) has no \(missing.joined(separator: ", ")) for the template"
                    try await writer.commit(update)
                    counters.update { $0.failed += 1 }
                    continue
                case .prompt(let prompt, let hash):
                    group.addTask { try await self.process(number: number, offset: offset, prompt: prompt, hash: hash, writer: writer) }
                }
                running += 1
            }
            counters.update { $0.total = stop.isSet || badInput != nil ? nil : total }
            try await group.waitForAll()
            if let badInput { throw badInput }
        }
        return union.names
    }

    /// Resolves one record and journals the outcome; a pending record is left for the next run.
    /// The updates are built synchronously: this frame lives while the record waits for Flex.
    func process(number: Int, offset: Int64, prompt: String, hash: String, writer: JournalWriter) async throws {
        writer.submit(Self.inFlight(number: number, offset: offset, promptHash: hash))
        let resolution = await dispatcher.resolve(prompt: prompt, key: hash)
        guard let update = outcome(resolution, number: number, offset: offset, promptHash: hash) else { return }
        try await writer.commit(update)
    }

    static func inFlight(number: Int, offset: Int64, promptHash: String) -> RecordUpdate {
        var update = RecordUpdate(number: number, byteOffset: offset, state: .inFlight)
        update.promptHash = promptHash
        return update
    }

    /// The journal update for a resolution (nil: pending), counted.
    func outcome(_ resolution: Dispatcher.Resolution, number: Int, offset: Int64, promptHash: String) -> RecordUpdate? {
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
