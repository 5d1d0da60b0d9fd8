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
        let packSize = max(1, options.prompt.pack)
        let shared = options.prompt.template.shared.utf8.count
        var pack: [PackMember] = []
        var packTokens = 0
        var packsMade = 0
        var recordsPacked = 0
        let tokenBudget = options.prompt.packTokens ?? .max
        let systemTokens = options.prompt.system.map(TokenEstimate.tokens) ?? 0
        // Tasks return how many records they held: a pack holds several.
        try await withThrowingTaskGroup(of: Int.self) { group in
            var running = 0
            /// Sends the pack being assembled (full, over its token budget, or held back too long).
            func sendPack() {
                let members = pack
                pack = []
                packTokens = 0
                packsMade += 1
                recordsPacked += members.count
                group.addTask { try await self.process(pack: members, writer: writer) }
                running += members.count
            }
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
                // memory budget, which reckon per request: a pack of k holds k records in one
                // request (at Flex latencies a cap of 20,000 records held packs of 25 to 800
                // requests in flight), so the cap is multiplied by the records packs carry so far.
                // The dispatcher's in-flight limit bounds requests on the wire.
                let cap = dispatcher.recordCap * (packsMade == 0 ? packSize : max(1, recordsPacked / packsMade))
                if !pack.isEmpty, running + pack.count >= cap {
                    // A partial pack goes now rather than hold records (and their twins) back.
                    sendPack()
                }
                while running >= cap, let held = try await group.next() {
                    running -= held
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
                case .prompt(let prompt, let hash) where packSize == 1:
                    group.addTask { try await self.process(number: number, offset: offset, prompt: prompt, hash: hash, writer: writer) }
                    running += 1
                case .prompt(let prompt, let hash):
                    // A record whose twin is under way shares its answer instead of joining a pack.
                    if options.dispatch.dedupe, !dispatcher.lead(key: hash) {
                        group.addTask { try await self.process(number: number, offset: offset, prompt: prompt, hash: hash, following: true, writer: writer) }
                        running += 1
                        continue
                    }
                    let item = String(decoding: prompt.utf8.dropFirst(shared), as: UTF8.self)
                    let itemTokens = PackLayout.estimatedTokens(item: item)
                    if !pack.isEmpty, packTokens + itemTokens > tokenBudget { sendPack() }
                    packTokens += itemTokens
                    counters.update { $0.packedOneByOneInput += TokenEstimate.tokens(prompt) + systemTokens }
                    pack.append(PackMember(number: number, offset: offset, hash: hash, member: .init(prompt: prompt, item: item)))
                    if pack.count == packSize { sendPack() }
                }
            }
            if !pack.isEmpty { sendPack() }
            counters.update { $0.total = stop.isSet || badInput != nil ? nil : total }
            try await group.waitForAll()
            if let badInput { throw badInput }
        }
        return union.names
    }

    /// Resolves one record and journals the outcome; a pending record is left for the next run.
    /// The updates are built synchronously: this frame lives while the record waits for Flex.
    /// `following`: its twin is already under way (`Dispatcher.lead` said so).
    func process(number: Int, offset: Int64, prompt: String, hash: String, following: Bool = false, writer: JournalWriter) async throws -> Int {
        writer.submit(Self.inFlight(number: number, offset: offset, promptHash: hash))
        let resolution = following ? await dispatcher.follow(prompt: prompt, key: hash) : await dispatcher.resolve(prompt: prompt, key: hash)
        guard let update = outcomes.update(resolution, number: number, offset: offset, promptHash: hash) else { return 1 }
        try await writer.commit(update)
        return 1
    }

    /// A record of a pack being assembled (`--pack`), with where it goes in the journal.
    struct PackMember: Sendable {
        let number: Int
        let offset: Int64
        let hash: String
        let member: PackResolver.Member
    }

    /// Resolves a pack and journals each record's outcome on its own; twins that followed a
    /// member get its outcome.
    func process(pack: [PackMember], writer: JournalWriter) async throws -> Int {
        for m in pack { writer.submit(Self.inFlight(number: m.number, offset: m.offset, promptHash: m.hash)) }
        let resolver = PackResolver(dispatcher: dispatcher, layout: PackLayout(shared: options.prompt.template.shared, itemSchema: options.prompt.schema),
                                    counters: counters)
        let resolutions = await resolver.resolve(pack.map(\.member))
        for (m, resolution) in zip(pack, resolutions) {
            if options.dispatch.dedupe { dispatcher.shareWithIdentical(key: m.hash, resolution) }
            if let update = outcomes.update(resolution, number: m.number, offset: m.offset, promptHash: m.hash) { try await writer.commit(update) }
        }
        return pack.count
    }

    static func inFlight(number: Int, offset: Int64, promptHash: String) -> RecordUpdate {
        var update = RecordUpdate(number: number, byteOffset: offset, state: .inFlight)
        update.promptHash = promptHash
        return update
    }

    var outcomes: RecordOutcome { RecordOutcome(counters: counters, logger: logger) }
}
