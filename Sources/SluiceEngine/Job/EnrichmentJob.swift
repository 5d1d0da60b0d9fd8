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
    public let options: JobConfiguration
    public let counters = RunCounters()
    public let stop = StopSignal()
    let logger: Logger

    /// Where warnings about the input go (the reader's, before any request): the CLI prints them.
    let warn: @Sendable (String) -> Void

    public init(options: JobConfiguration, logger: Logger, warn: @escaping @Sendable (String) -> Void = { _ in }) {
        self.options = options
        self.logger = logger
        self.warn = warn
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

        public init(status: Status, outputPath: String? = nil, journal: Journal.Summary, badRecordsPath: String? = nil) {
            self.status = status
            self.outputPath = outputPath
            self.journal = journal
            self.badRecordsPath = badRecordsPath
        }
    }

    var outputPath: String { options.output.path ?? JobPaths.output(for: options.input.path, format: options.output.format) }

    var badRecordsPath: String {
        options.input.badRecordsPath ?? JobPaths.badRecords(output: outputPath, journal: options.journal.path)
    }

    /// Opens the input (gzip by magic bytes) with the run's reader options. `captureDocument`:
    /// an XML reader that keeps the document for the preserving writer.
    func openReader(captureDocument: Bool = false) throws(EngineError) -> any RecordReader {
        do {
            let opened = try InputFile.open(path: options.input.path)
            if captureDocument, options.input.format == .xml {
                return try XMLRecordReader(opened.source, options: options.input.reader, captureDocument: true)
            }
            return try options.input.format.reader(opened.source, options: options.input.reader)
        } catch {
            throw EngineError(error)
        }
    }

    func openInput(captureDocument: Bool = false) throws(EngineError) -> RecordInput {
        RecordInput(reader: try openReader(captureDocument: captureDocument), policy: options.input.onBadRecord)
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
        for warning in input.reader.warnings { warn(warning) }
        if let first {
            if case .missing(let missing) = PromptStage(template: options.prompt.template).prepare(first) {
                throw EngineError(.usage, """
                    template \(options.prompt.template.name) uses \(missing.map { "{{\($0)}}" }.joined(separator: ", ")), which \(options.input.path) does not have.
                    Fields in the input: \(inputColumns.joined(separator: ", "))
                    """)
            }
        }
        let added = options.answerColumns + [options.output.errorColumn]
        let clashes = added.filter(inputColumns.contains)
        if !clashes.isEmpty, !options.output.overwriteColumns {
            throw EngineError(.columnClash(clashes), "new column(s) \(clashes.joined(separator: ", ")) already exist in \(options.input.path)")
        }
        return (inputColumns, first)
    }

    /// What the journal's answers depend on; `identity` is the client's (its API surface).
    public func fingerprint(identity: [(String, String)]) throws(EngineError) -> JobFingerprint {
        let inputIdentity: String
        do { inputIdentity = try InputIdentity.of(path: options.input.path) } catch { throw EngineError(error) }
        return JobFingerprint([
            ("input", "\(URL(fileURLWithPath: options.input.path).standardized.path) \(inputIdentity)"),
            ("template", StableHash.hex(options.prompt.template.source)),
            ("schema", options.prompt.schema.map { StableHash.hex(JSONWriter.string($0)) } ?? "none"),
            ("system", options.prompt.system.map(StableHash.hex) ?? "none"),
            ("model", options.prompt.model),
            ("tier", options.prompt.tier.rawValue),
        ] + identity + [
            ("columns", (options.answerColumns + [options.output.errorColumn]).joined(separator: ",")),
        ])
    }

    /// Runs both passes with `client`. Throws only for errors that end the command before any
    /// answer is at stake.
    /// `batchClient`: the provider's Batch API, for `Mode.batch`.
    public func run(client: any ModelClient, batchClient: (any BatchClient)? = nil) async throws(EngineError) -> Outcome {
        let (inputColumns, _) = try preflight()
        let fingerprint = try fingerprint(identity: client.identity)
        if options.mode == .batch, batchClient == nil { throw EngineError(.usage, "batch mode needs a provider with a Batch API") }
        do {
            return try await Journal.with(path: options.journal.path, fingerprint: fingerprint, restart: options.journal.restart) { journal in
                // Waves are named after the job and its journal: a batch found by name is this job's.
                let created = (try? journal.meta()["created"]) ?? ""
                let tag = String(StableHash.hex(fingerprint.components.map { "\($0.name)=\($0.value)" }.joined(separator: "\n") + created).prefix(12))
                return try await run(client: client, batchClient: batchClient, journal: journal, inputColumns: inputColumns, jobTag: tag)
            }
        } catch {
            throw EngineError(anyError: error)
        }
    }

    func run(client: any ModelClient, batchClient: (any BatchClient)?, journal: Journal, inputColumns: [String], jobTag: String) async throws(EngineError) -> Outcome {
        let finals: RecordSet
        do { finals = try journal.finalRecords(retryFailed: options.journal.retryFailed) } catch { throw EngineError(error) }
        let writer = JournalWriter(journal: journal)
        let dispatcher = Dispatcher(client: client, prototype: options.prompt.request(""), policy: options.dispatch, concurrency: options.concurrency,
                                    prices: options.prices, counters: counters, stop: stop, logger: logger)
        let online = OnlinePass(options: options, dispatcher: dispatcher, counters: counters, stop: stop, logger: logger)
        var batchOptions = options
        batchOptions.batch.jobTag = jobTag
        let batch = batchClient.map { BatchPass(options: batchOptions, client: $0, counters: counters, stop: stop, logger: logger, reopen: { try self.openInput() }) }
        var columns = inputColumns
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await writer.run() }
                group.addTask { await dispatcher.runClock() }
                do {
                    if options.mode == .batch, let batch {
                        columns = try await batch.run(input: try openInput(), finals: finals, writer: writer, inputColumns: inputColumns)
                        // What the waves left (`fallbackOnline`) goes online.
                        if options.batch.fallbackOnline, !stop.isSet {
                            let left = try await writer.perform { try $0.finalRecords(retryFailed: false) }
                            columns = try await online.run(input: try openInput(), finals: left, writer: writer, inputColumns: columns)
                        }
                    } else {
                        // Records a live batch wave may still answer are not bought twice.
                        var skip = finals
                        let live = try await writer.perform { try $0.recordsInLiveWaves() }
                        if live.count > 0 {
                            logger.notice("\(live.count) records wait in live batch waves: left to them (run with --mode batch to collect them)")
                            skip.formUnion(live)
                        }
                        columns = try await online.run(input: try openInput(), finals: skip, writer: writer, inputColumns: inputColumns)
                    }
                } catch {
                    writer.close()
                    throw error
                }
                dispatcher.stopClock()
                writer.close()
                try await group.waitForAll()
            }
        } catch {
            throw EngineError(anyError: error)
        }

        let summary = try Self.journaled { () throws(JournalError) in try journal.summary() }
        if let reason = stop.current { return Outcome(status: .stopped(reason), journal: summary) }
        let waited = counters.snapshot.waitBudgetExceeded
        if waited > 0 { return Outcome(status: .waitBudgetExceeded(records: waited), journal: summary) }
        let path = try await merge(journal: journal, inputColumns: columns)
        let final = try Self.journaled { () throws(JournalError) in try journal.summary() }
        return Outcome(status: final.failed > 0 ? .someFailed : .complete, outputPath: path, journal: final,
                       badRecordsPath: counters.snapshot.badRecords > 0 ? badRecordsPath : nil)
    }

    /// A journal call whose error ends the command.
    static func journaled<T>(_ body: () throws(JournalError) -> T) throws(EngineError) -> T {
        do { return try body() } catch { throw EngineError(error) }
    }

    // MARK: - Output

    /// The output file of a pass over `reader`, with `newFields` appended to each record.
    func makeOutput(path: String, reader: any RecordReader, columns: [String], newFields: [String]) throws(EngineError) -> OutputFile {
        var writerOptions = WriterOptions()
        writerOptions.formulaGuard = options.output.csvFormulaGuard
        writerOptions.recordElement = options.input.reader.recordElement
        return try OutputFile(path: path, gzip: options.output.gzip, gzipLevel: options.output.gzipLevel, deadLetters: badRecordsPath,
                              format: options.output.format, inputFormat: options.input.format, reader: reader,
                              columns: columns, newFields: newFields, options: writerOptions)
    }

    /// Pass 2: streams the input again, joins each record with its journaled outcome and
    /// writes the output under a temporary name, renamed into place at the end.
    func merge(journal: Journal, inputColumns: [String]) async throws(EngineError) -> String {
        let input = try openInput(captureDocument: options.input.format == .xml && options.output.format == .xml)
        let answers = AnswerColumns(options: options)
        var columns = inputColumns
        for c in answers.names where !columns.contains(c) { columns.append(c) }
        let output = try makeOutput(path: outputPath, reader: input.reader, columns: columns, newFields: answers.names)
        var cursor = JournalCursor(journal)
        let pass = OutputPass(input: input, output: output, limit: options.input.limit, counters: counters, logger: logger)
        do {
            _ = try await pass.run { record throws(EngineError) in
            let found = try Self.journaled { () throws(JournalError) in try cursor.outcome(for: record.number) }
            guard let outcome = found, outcome.state == .done || outcome.state == .failed else {
                throw EngineError(.failure, "internal: record \(record.number) of \(options.input.path) has no final answer in journal \(options.journal.path); run the same command again")
            }
            var fields = record.fields
            answers.apply(outcome, to: &fields)
            return fields
            }
            try output.commit()
        } catch {
            output.discard()
            throw error
        }
        return outputPath
    }
}
