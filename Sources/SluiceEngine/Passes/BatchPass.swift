import Foundation
import Logging
import SluiceFormats
import SluiceJSON
import SluiceJournal
import SluiceModel

/// Pass 1 through a provider's Batch API: the records without a final answer go out in waves
/// (a JSON Lines file uploaded, one batch created per wave), which are polled until they end;
/// each result is journaled per record through the same schema checks as an online answer.
///
/// Crash safety: a wave is journaled before each remote step (`BatchWave.State`), and its
/// records are marked `submitted`, so a restart resumes polling and never sends a record of a
/// live wave again; a batch created just before a crash is found by its display name. A wave
/// that ends without results (expired, failed, cancelled) sends its records again.
struct BatchPass: AnswerPass {
    let options: JobConfiguration
    let client: any BatchClient
    let counters: RunCounters
    let stop: StopSignal
    let logger: Logger
    /// The input from its start (each wave is built by one pass over it).
    let reopen: @Sendable () throws -> RecordInput

    var settings: JobConfiguration.Batch { options.batch }
    var scale: Double { options.dispatch.timeScale }

    func run(input: RecordInput, finals: RecordSet, writer: JournalWriter, inputColumns: [String]) async throws -> [String] {
        let (loaded, finalAtStart) = try await writer.perform { j in (try j.waves(), try j.finalRecords(retryFailed: false)) }
        var waves = loaded
        var scan = Scan(given: finals, finalAtStart: finalAtStart)
        var columns = inputColumns
        var delay = settings.pollInitial
        var firstScan = true
        // Waves this process made, or already looked up: no batch of theirs can exist unnamed.
        var known = Set<Int>()
        for wave in waves where wave.state.isLive { logger.notice("resuming batch wave \(wave.number) (\(wave.state.rawValue), \(wave.records) records)") }
        while !stop.isSet {
            var changed = false
            for i in waves.indices where waves[i].state.isLive {
                let before = waves[i]
                waves[i] = try await advance(waves[i], lookUp: !known.contains(waves[i].number), writer: writer)
                known.insert(waves[i].number)
                if waves[i] != before { changed = true }
                if stop.isSet { return columns }
            }
            // A new wave when nothing is being prepared or uploaded (one at a time keeps the
            // enqueued tokens under the cap), and there are records to send.
            if !waves.contains(where: { $0.state == .preparing || $0.state == .uploaded }) {
                let built = try await buildWave(number: (waves.map(\.number).max() ?? 0) + 1, input: firstScan ? input : try reopen(),
                                                first: firstScan, scan: &scan, writer: writer, columns: &columns)
                firstScan = false
                if let wave = built {
                    waves.append(wave)
                    known.insert(wave.number)
                    changed = true
                    continue
                }
                if !waves.contains(where: \.state.isLive) { break }
            }
            delay = changed ? settings.pollInitial : min(settings.pollMax, delay * 1.5)
            await pause(seconds: delay * scale)
        }
        return columns
    }

    /// Sleeps in short steps so a stop is seen promptly.
    func pause(seconds: Double) async {
        let end = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while !stop.isSet, ContinuousClock.now < end {
            try? await Task.sleep(for: min(.milliseconds(200), end - ContinuousClock.now))
        }
    }

    // MARK: - A wave's steps

    /// Takes a live wave one step further (or leaves it when it waits on the provider).
    /// `lookUp`: a wave from an earlier run, whose batch may exist without the journal naming it.
    func advance(_ wave: BatchWave, lookUp: Bool, writer: JournalWriter) async throws -> BatchWave {
        var wave = wave
        do {
            switch wave.state {
            case .preparing, .uploaded:
                // A crash right after a create leaves a batch the journal does not name.
                if lookUp, let found = try await client.findBatch(displayName: wave.displayName) {
                    wave.batchName = found.name
                    wave.state = .submitted
                    try await save(wave, writer)
                    return wave
                }
                if wave.state == .preparing {
                    let file = Self.waveFile(options.journal.path, wave.number)
                    guard FileManager.default.fileExists(atPath: file + ".ready") else {
                        // Died before its file was complete: its records go into a new wave.
                        return try await lose(wave, reason: "the wave's file was not complete when the run stopped", writer: writer)
                    }
                    logger.notice("batch wave \(wave.number): uploading \(wave.records) records")
                    wave.fileName = try await client.upload(path: file + ".ready", displayName: wave.displayName)
                    wave.state = .uploaded
                    try await save(wave, writer)
                }
                do {
                    let created = try await client.createBatch(model: options.prompt.model, file: wave.fileName ?? "", displayName: wave.displayName)
                    wave.batchName = created.name
                    wave.state = .submitted
                    try await save(wave, writer)
                    try? FileManager.default.removeItem(atPath: Self.waveFile(options.journal.path, wave.number) + ".ready")
                    logger.notice("batch wave \(wave.number): created \(created.name)")
                } catch let error as ModelError where error.kind == .rateLimited {
                    // The enqueued-token cap: create again once a running wave has ended.
                    logger.notice("batch wave \(wave.number): the provider's batch queue is full; waiting for running waves")
                }
                return wave
            case .submitted:
                let status = try await client.batchStatus(name: wave.batchName ?? "")
                switch status.state {
                case .pending, .running:
                    return wave
                case .succeeded:
                    guard let file = status.resultsFile else { return try await lose(wave, reason: "the batch succeeded without a results file", writer: writer) }
                    try await ingest(wave, resultsFile: file, writer: writer)
                    wave.state = .finished
                    try await save(wave, writer)
                    return wave
                case .failed, .cancelled, .expired:
                    return try await lose(wave, reason: "batch \(wave.batchName ?? "") \(status.state.rawValue)\(status.error.map { ": \($0)" } ?? "")", writer: writer)
                }
            case .finished, .lost:
                return wave
            }
        } catch let error as ModelError {
            switch error.kind {
            case .billing, .dailyQuota, .invalidRequest, .untrustedServer:
                stop.stop(error.kind == .untrustedServer ? .untrustedServer(error.message) : .fatal("batch wave \(wave.number): \(error.message)"))
            default:
                logger.warning("batch wave \(wave.number): \(error.message) (trying again)")
            }
            return wave
        }
    }

    func save(_ wave: BatchWave, _ writer: JournalWriter) async throws {
        try await writer.perform { try $0.save(wave) }
    }

    /// A wave that ended without results: its records are pending again, one wave used.
    func lose(_ wave: BatchWave, reason: String, writer: JournalWriter) async throws -> BatchWave {
        var wave = wave
        let number = wave.number
        logger.warning("batch wave \(number) ended without results: \(reason); its records go again")
        let waiting = try await writer.perform { try $0.waiting(inWave: number) }
        for r in waiting {
            var update = RecordUpdate(number: r.number, byteOffset: r.byteOffset, state: .submitted)
            update.attempts = r.attempts + 1
            update.error = reason
            writer.submit(update)
        }
        wave.state = .lost
        wave.error = reason
        try await save(wave, writer)
        // The file, complete or not: a new wave writes its own.
        let file = Self.waveFile(options.journal.path, wave.number)
        for path in [file, file + ".ready"] { try? FileManager.default.removeItem(atPath: path) }
        return wave
    }

    /// Downloads a wave's results and journals each record's answer or error.
    func ingest(_ wave: BatchWave, resultsFile: String, writer: JournalWriter) async throws {
        let path = Self.waveFile(options.journal.path, wave.number) + ".results"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await client.download(file: resultsFile, to: path)
        let number = wave.number
        let waiting = try await writer.perform { try $0.waiting(inWave: number) }
        var byNumber: [Int: WaveRecord] = [:]
        var byHash: [String: [WaveRecord]] = [:]
        for r in waiting {
            byNumber[r.number] = r
            if let h = r.promptHash { byHash[h, default: []].append(r) }
        }
        let prototype = options.prompt.request("")
        var answered = Set<Int>()
        guard let source = FileHandle(forReadingAtPath: path) else { throw ModelError(.transport, message: "cannot read the downloaded results \(path)") }
        defer { try? source.close() }
        var line: [UInt8] = []
        func take(_ line: [UInt8]) async throws {
            guard !line.isEmpty, let (key, result) = client.readResult(line: line, request: { _ in prototype }),
                  let number = Int(key), let first = byNumber[number] else { return }
            // Identical prompts in the wave were sent once: each twin gets the answer.
            let members = first.promptHash.flatMap { byHash[$0] } ?? [first]
            for (i, r) in members.enumerated() where !answered.contains(r.number) {
                answered.insert(r.number)
                try await journal(result, record: r, billed: i == 0, writer: writer)
            }
        }
        while true {
            let chunk = Array(try source.read(upToCount: 1 << 20) ?? Data())
            if chunk.isEmpty { break }
            var start = chunk.startIndex
            while let nl = chunk[start...].firstIndex(of: UInt8(ascii: "\n")) {
                line += chunk[start..<nl]
                try await take(line)
                line.removeAll(keepingCapacity: true)
                start = chunk.index(after: nl)
            }
            line += chunk[start...]
        }
        try await take(line)
        // Records the results left out go again.
        for r in waiting where !answered.contains(r.number) {
            var update = RecordUpdate(number: r.number, byteOffset: r.byteOffset, state: .submitted)
            update.attempts = r.attempts + 1
            update.error = "the batch's results had no line for it"
            writer.submit(update)
        }
        try await writer.perform { _ in }
    }

    /// Journals one record's result: done, failed (not worth another wave), or pending again.
    func journal(_ result: Result<GenerationResult, ModelError>, record r: WaveRecord, billed: Bool, writer: JournalWriter) async throws {
        let resolution: Dispatcher.Resolution
        switch result {
        case .success(let answer):
            counters.update { c in
                c.answersByTier[.batch, default: 0] += 1
                if billed {
                    c.usage += answer.usage
                    c.usageByTier[.batch, default: TokenUsage()] += answer.usage
                }
            }
            resolution = .answered(answer, attempts: r.attempts + 1, wasted: TokenUsage(), tier: .batch, shared: !billed)
        case .failure(let error) where error.isRetryable:
            // Not final: the record goes in the next wave.
            var update = RecordUpdate(number: r.number, byteOffset: r.byteOffset, state: .submitted)
            update.attempts = r.attempts + 1
            update.error = error.description
            if billed {
                update.inputTokens = error.usage?.input ?? 0
                update.outputTokens = error.usage?.output ?? 0
            }
            try await writer.commit(update)
            return
        case .failure(let error):
            resolution = .failed(error, attempts: r.attempts + 1, wasted: billed ? error.usage ?? TokenUsage() : TokenUsage())
        }
        if let update = RecordOutcome(counters: counters, logger: logger).update(resolution, number: r.number, offset: r.byteOffset, promptHash: r.promptHash) {
            try await writer.commit(update)
        }
    }

    // MARK: - Building a wave

    static func waveFile(_ journal: String, _ number: Int) -> String { "\(journal).wave-\(number).jsonl" }

    /// Which records a scan of the input skips as final.
    struct Scan {
        /// Final when the run began, as the job decided (`--retry-failed` leaves failed ones out).
        let given: RecordSet
        /// Done or failed when the run began.
        let finalAtStart: RecordSet
        /// Records this run's scans sent or failed.
        var handled = RecordSet()

        /// `current`: done or failed now. A record that failed before this run and is to be
        /// retried stays pending until a scan of this run has taken it.
        func isFinal(_ n: Int, current: RecordSet) -> Bool {
            guard current.contains(n) else { return false }
            return !(finalAtStart.contains(n) && !given.contains(n) && !handled.contains(n))
        }
    }

    /// One pass over the input: the records to send (not final, not in a live wave, waves
    /// left) rendered into the next wave's file, up to its token and record bounds. Nil when
    /// there is nothing to send.
    /// `first`: this run's first scan, which counts bad records and the total.
    func buildWave(number: Int, input: RecordInput, first: Bool, scan: inout Scan, writer: JournalWriter, columns: inout [String]) async throws -> BatchWave? {
        let (finals, live, retries) = try await writer.perform { j in
            (try j.finalRecords(retryFailed: false), try j.recordsInLiveWaves(), try j.waveRetries())
        }
        var union = FieldUnion(input.reader.columns ?? columns)
        let collect = input.reader.columns == nil
        let stage = PromptStage(template: options.prompt.template)
        let prototype = options.prompt.request("")
        let systemTokens = options.prompt.system.map(TokenEstimate.tokens) ?? 0
        let path = Self.waveFile(options.journal.path, number)
        let displayName = "sluice-\(settings.jobTag)-w\(number)"
        var wave = BatchWave(number: number, displayName: displayName, state: .preparing)
        var sink: FileHandle?
        var lines: [UInt8] = []
        var bytes = 0
        var full = false
        var sentHashes = Set<String>()
        var total = 0
        func flush() { if !lines.isEmpty { sink?.write(Data(lines)); lines.removeAll(keepingCapacity: true) } }
        while let entry = try input.next() {
            if let limit = options.input.limit, entry.number > limit { break }
            total = entry.number
            guard case .record(let record) = entry else {
                if case .bad(let error) = entry, first { counters.update { $0.badRecords += 1 }; logger.warning("skipping bad record: \(error)") }
                continue
            }
            if collect { union.add(record.fields) }
            if full || scan.isFinal(record.number, current: finals) || live.contains(record.number) { continue }
            let retry = retries[record.number]
            if let retry, retry.attempts >= settings.maxWaves {
                var update = RecordUpdate(number: record.number, byteOffset: record.byteOffset, state: .failed)
                update.error = "\(retry.error ?? "no answer") (after \(retry.attempts) batch waves)"
                counters.update { $0.failed += 1 }
                try await writer.commit(update)
                scan.handled.insert(record.number)
                continue
            }
            if retry != nil, settings.fallbackOnline { continue }
            scan.handled.insert(record.number)
            switch stage.prepare(record) {
            case .missing(let missing):
                var update = RecordUpdate(number: record.number, byteOffset: record.byteOffset, state: .failed)
                update.error = "record \(record.number) has no \(missing.joined(separator: ", ")) for the template"
                counters.update { $0.failed += 1 }
                try await writer.commit(update)
            case .prompt(let prompt, let hash):
                if wave.records == 0 {
                    // The wave exists in the journal before any record names it.
                    try await save(wave, writer)
                    FileManager.default.createFile(atPath: path, contents: nil)
                    sink = FileHandle(forWritingAtPath: path)
                }
                var update = RecordUpdate(number: record.number, byteOffset: record.byteOffset, state: .submitted)
                update.promptHash = hash
                update.wave = number
                writer.submit(update)
                wave.records += 1
                // Identical prompts go once per wave; the twins get the answer when it comes.
                guard options.dispatch.dedupe ? sentHashes.insert(hash).inserted : true else {
                    counters.update { $0.dedupeSaved += 1 }
                    continue
                }
                var request = prototype
                request.prompt = prompt
                let line = client.requestLine(key: String(record.number), request: request)
                lines += line
                bytes += line.count
                wave.tokens += TokenEstimate.tokens(prompt) + systemTokens
                counters.update { $0.requests += 1 }
                if lines.count > 1 << 20 { flush() }
                // Within the provider's limits: enqueued tokens, records, 2 GB per file.
                full = wave.tokens >= settings.waveTokens || wave.records >= settings.waveRecords || bytes >= 1_900_000_000
            }
        }
        if collect { columns = union.names } else { columns = input.reader.columns ?? columns }
        if first { counters.update { $0.total = total } }
        guard wave.records > 0 else { return nil }
        flush()
        try sink?.synchronize()
        try sink?.close()
        // Renamed once complete: a crash before this leaves no file to upload, only records to send again.
        try FileManager.default.moveItem(atPath: path, toPath: path + ".ready")
        try await save(wave, writer)
        logger.notice("batch wave \(number): \(wave.records) records, ~\(wave.tokens) input tokens")
        return wave
    }
}
