import Foundation
import Logging
import SluiceFormats
import SluiceModel
import SluiceJSON
import SluiceJournal

/// One `sluice run`: pass 1 sends every record without a final answer (journaling each answer
/// before it counts); pass 2, once all are final, streams the input again and writes it with
/// the new columns to a temporary file that is renamed into place.
public final class EnrichmentJob: Sendable {
    public let options: RunOptions
    public let counters = RunCounters()
    public let stop = StopSignal()
    let logger: Logger

    public init(options: RunOptions, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// How the run ended.
    public struct Outcome: Sendable {
        public enum Status: Sendable, Equatable {
            /// Every record has a final answer; the output is written.
            case complete
            /// Written, but some records failed permanently (their error is in the output).
            case someFailed
            /// Stopped before the end; the journal holds what was answered.
            case stopped(StopReason)
            /// These records ran out of their wait budget and are still pending.
            case waitBudgetExceeded(records: Int)
        }

        public var status: Status
        public var outputPath: String?
        public var journal: Journal.Summary
        /// The dead-letter file, when bad records were skipped.
        public var badRecordsPath: String?
    }

    var outputPath: String { options.outputPath ?? EnrichmentJob.defaultOutputPath(for: options.inputPath, format: options.outputFormat) }

    /// `NAME.enriched.EXT` beside the input; a `.gz` input gives a `.gz` output.
    public static func defaultOutputPath(for input: String, format: RecordFormat) -> String {
        var base = input
        let compressed = base.hasSuffix(".gz")
        if compressed { base.removeLast(3) }
        if let dot = base.lastIndex(of: "."), !base[dot...].contains("/") { base = String(base[..<dot]) }
        return "\(base).enriched.\(format.rawValue)\(compressed ? ".gz" : "")"
    }

    var badRecordsPath: String {
        options.badRecordsPath ?? (options.outputPath == "-" ? options.journalPath : outputPath) + ".bad-records.jsonl"
    }

    /// Opens the input (gzip by magic bytes) with the run's reader options. `captureDocument`:
    /// an XML reader that keeps the document for the preserving writer.
    func openReader(captureDocument: Bool = false) throws(EngineError) -> any RecordReader {
        do {
            let opened = try InputFile.open(path: options.inputPath)
            if captureDocument, options.inputFormat == .xml {
                return try XMLRecordReader(opened.source, options: options.reader, captureDocument: true)
            }
            return try options.inputFormat.reader(opened.source, options: options.reader)
        } catch {
            throw EngineError(error)
        }
    }

    func openInput(captureDocument: Bool = false) throws(EngineError) -> RecordInput {
        RecordInput(reader: try openReader(captureDocument: captureDocument), policy: options.onBadRecord)
    }

    /// Checks the template and the new columns against the input before any request.
    func preflight() throws(EngineError) -> (inputColumns: [String], firstRecord: Record?) {
        let input = try openInput()
        var first: Record?
        do {
            while let entry = try input.next() {
                if case .record(let record) = entry { first = record; break }
            }
        } catch {
            throw EngineError(error)
        }
        let inputColumns = input.reader.columns ?? first?.fields.keys ?? []
        for warning in input.reader.warnings { FileHandle.standardError.write(Data("sluice: warning: \(warning)\n".utf8)) }
        if let first {
            let missing = options.template.missingVariables(in: first)
            if !missing.isEmpty {
                throw EngineError(.usage, """
                    template \(options.template.name) uses \(missing.map { "{{\($0)}}" }.joined(separator: ", ")), which \(options.inputPath) does not have.
                    Fields in the input: \(inputColumns.joined(separator: ", "))
                    """)
            }
        }
        let added = options.answerColumns + [options.errorColumn]
        let clashes = added.filter(inputColumns.contains)
        if !clashes.isEmpty, !options.overwriteColumns {
            throw EngineError(.columnClash(clashes), "new column(s) \(clashes.joined(separator: ", ")) already exist in \(options.inputPath)")
        }
        return (inputColumns, first)
    }

    /// What the journal's answers depend on; `identity` is the client's (its API surface).
    public func fingerprint(identity: [(String, String)]) throws(EngineError) -> JobFingerprint {
        let inputIdentity: String
        do { inputIdentity = try InputIdentity.of(path: options.inputPath) } catch { throw EngineError(error) }
        return JobFingerprint([
            ("input", "\(URL(fileURLWithPath: options.inputPath).standardized.path) \(inputIdentity)"),
            ("template", StableHash.hex(options.template.source)),
            ("schema", options.schema.map { StableHash.hex(JSONWriter.string($0)) } ?? "none"),
            ("system", options.system.map(StableHash.hex) ?? "none"),
            ("model", options.model),
            ("tier", options.tier.rawValue),
        ] + identity + [
            ("columns", (options.answerColumns + [options.errorColumn]).joined(separator: ",")),
        ])
    }

    /// Runs both passes with `client`. Throws only for errors that end the command before any
    /// answer is at stake.
    public func run(client: any ModelClient) async throws(EngineError) -> Outcome {
        let (inputColumns, _) = try preflight()
        let fingerprint = try fingerprint(identity: client.identity)
        do {
            return try await Journal.with(path: options.journalPath, fingerprint: fingerprint, restart: options.restart) { journal in
                try await run(client: client, journal: journal, inputColumns: inputColumns)
            }
        } catch let error as EngineError {
            throw error
        } catch let error as JournalError {
            throw EngineError(error)
        } catch {
            throw EngineError(.failure, "\(error)")
        }
    }

    func run(client: any ModelClient, journal: Journal, inputColumns: [String]) async throws(EngineError) -> Outcome {
        let finals: RecordSet
        do { finals = try journal.finalRecords(retryFailed: options.retryFailed) } catch { throw EngineError(error) }
        let writer = JournalWriter(journal: journal)
        let dispatcher = Dispatcher(client: client, options: options, counters: counters, stop: stop, logger: logger)
        var failure: EngineError?
        var columns = inputColumns
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await writer.run() }
                do {
                    columns = try await dispatch(finals: finals, dispatcher: dispatcher, writer: writer, inputColumns: inputColumns)
                } catch {
                    writer.close()
                    throw error
                }
                writer.close()
                try await group.waitForAll()
            }
        } catch let error as EngineError {
            failure = error
        } catch let error as JournalError {
            failure = EngineError(error)
        } catch let error as FormatError {
            failure = EngineError(error)
        } catch {
            failure = EngineError(.failure, "\(error)")
        }
        if let failure { throw failure }

        let summary = try Self.journaled { () throws(JournalError) in try journal.summary() }
        if let reason = stop.current { return Outcome(status: .stopped(reason), journal: summary) }
        let waited = counters.snapshot.waitBudgetExceeded
        if waited > 0 { return Outcome(status: .waitBudgetExceeded(records: waited), journal: summary) }
        let path = try merge(journal: journal, inputColumns: columns)
        let final = try Self.journaled { () throws(JournalError) in try journal.summary() }
        return Outcome(status: final.failed > 0 ? .someFailed : .complete, outputPath: path, journal: final,
                       badRecordsPath: counters.snapshot.badRecords > 0 ? badRecordsPath : nil)
    }

    /// A journal call whose error ends the command.
    static func journaled<T>(_ body: () throws(JournalError) -> T) throws(EngineError) -> T {
        do { return try body() } catch { throw EngineError(error) }
    }

    // MARK: - Pass 1

    /// Sends every record without a final answer. Returns the input's field names: the header,
    /// or the union of every record's fields in first-seen order (JSON Lines and XML records
    /// need not all have the same fields; a tabular output gets a column for each).
    func dispatch(finals: RecordSet, dispatcher: Dispatcher, writer: JournalWriter, inputColumns: [String]) async throws -> [String] {
        let input = try openInput()
        var union = FieldUnion(input.reader.columns ?? inputColumns)
        let collect = input.reader.columns == nil
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
                    badInput = (error as? FormatError) ?? FormatError(.io, "\(error)", file: options.inputPath)
                    break
                }
                guard let entry = next else { break }
                if let limit = options.limit, entry.number > limit { break }
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
                // Records in process (on the wire or in backoff) are bounded by the ceiling, which
                // bounds memory; the dispatcher's adaptive limit bounds requests on the wire.
                while running >= options.concurrency {
                    try await group.next()
                    running -= 1
                }
                let missing = options.template.missingVariables(in: record)
                let number = record.number
                let offset = record.byteOffset
                if !missing.isEmpty {
                    var update = RecordUpdate(number: number, byteOffset: offset, state: .failed)
                    update.error = "record \(number) has no \(missing.joined(separator: ", ")) for the template"
                    try await writer.commit(update)
                    counters.update { $0.failed += 1 }
                    continue
                }
                let prompt = options.template.render(record)
                group.addTask { try await self.process(number: number, offset: offset, prompt: prompt, dispatcher: dispatcher, writer: writer) }
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
    func process(number: Int, offset: Int64, prompt: String, dispatcher: Dispatcher, writer: JournalWriter) async throws {
        let hash = StableHash.hex(prompt)
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

    // MARK: - Pass 2

    /// Streams the input again, joins each record with its journaled outcome and writes the output.
    func merge(journal: Journal, inputColumns: [String]) throws(EngineError) -> String {
        let input = try openInput(captureDocument: options.inputFormat == .xml && options.outputFormat == .xml)
        let answerColumns = options.answerColumns
        let schemaColumns = options.schema?["properties"]?.objectValue != nil
        var columns = inputColumns
        for c in answerColumns + [options.errorColumn] where !columns.contains(c) { columns.append(c) }
        let output = try OutputFile(job: self, reader: input.reader, columns: columns, newFields: answerColumns + [options.errorColumn])
        let tabular = options.outputFormat.isTabular
        var written = 0
        counters.update { $0.written = 0 }
        var page: [Journal.Outcome] = []
        var index = 0
        var last = 0
        while true {
            let next: RecordInput.Entry?
            do { next = try input.next() } catch { throw EngineError(error) }
            guard let entry = next else { break }
            if let limit = options.limit, entry.number > limit {
                // The preserving XML writer needs the rest of the document, without these records.
                if output.needsWholeInput { output.writer.skip(); continue }
                break
            }
            guard case .record(let record) = entry else {
                if case .bad(let error) = entry { try output.reject(error) }
                continue
            }
            while true {
                if index == page.count {
                    page = try Self.journaled { () throws(JournalError) in try journal.outcomes(after: last, limit: 2048) }
                    index = 0
                }
                guard index < page.count, page[index].number < record.number else { break }
                last = page[index].number
                index += 1
            }
            guard index < page.count, page[index].number == record.number, page[index].state != .inFlight else {
                throw EngineError(.failure, "internal: record \(record.number) of \(options.inputPath) has no final answer in journal \(options.journalPath); run the same command again")
            }
            let outcome = page[index]
            last = outcome.number
            index += 1
            var fields = record.fields
            if outcome.state == .done, let answer = outcome.answer {
                if schemaColumns, case .object(let object)? = try? JSONParser.parse(answer) {
                    for column in answerColumns { fields[column] = object[column] ?? (tabular ? .string("") : .null) }
                } else {
                    fields[answerColumns[0]] = schemaColumns ? ((try? JSONParser.parse(answer)) ?? .string(answer)) : .string(answer)
                }
                if tabular { fields[options.errorColumn] = .string("") } else { fields[options.errorColumn] = nil }
            } else {
                for column in answerColumns { fields[column] = tabular ? .string("") : .null }
                fields[options.errorColumn] = .string(outcome.error ?? "failed")
            }
            try output.write(fields)
            written += 1
            if written & 4095 == 0 { counters.update { $0.written = written } }
        }
        try output.commit()
        return options.outputPath == "-" ? "-" : outputPath
    }

    /// The writer for the output format. CSV to CSV keeps the input's dialect; XML to XML keeps
    /// the document; other formats are mapped as the README's table says.
    func makeWriter(sink: OutputSink, reader: any RecordReader, columns: [String], newFields: [String]) throws(FormatError) -> any RecordWriter {
        switch options.outputFormat {
        case .csv:
            var dialect = CSVDialect.csv
            if options.inputFormat == .csv, let input = (reader as? CSVReader)?.dialect {
                dialect.delimiter = input.delimiter
            }
            return try CSVWriter(sink: sink, columns: columns, dialect: dialect, formulaGuard: options.csvFormulaGuard, inputHeader: (reader as? CSVReader)?.header)
        case .tsv:
            return try CSVWriter(sink: sink, columns: columns, dialect: .tsv, formulaGuard: options.csvFormulaGuard, inputHeader: (reader as? CSVReader)?.header)
        case .jsonl:
            return JSONLWriter(sink: sink)
        case .xml:
            if let xml = reader as? XMLRecordReader, xml.capture != nil {
                return try XMLDocumentWriter(sink: sink, reader: xml, newFields: newFields)
            }
            return try XMLRecordWriter(sink: sink, recordElement: options.reader.recordElement ?? "record")
        }
    }
}
