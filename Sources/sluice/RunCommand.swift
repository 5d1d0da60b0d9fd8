import ArgumentParser
import Foundation
import Logging
import SluiceEngine
import SluiceFormats
import SluiceGemini
import SluiceModel
import SluiceJSON

/// `sluice run`: enrich a file.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Enrich INPUT with one model answer per record, written back as new columns.",
        discussion: """
            Answers are journaled in SQLite as they arrive: run the same command again after a crash, \
            Ctrl-C or a quota stop and only records without an answer are sent. The output appears \
            (atomically) once every record has a final state.

            The API key comes from GEMINI_API_KEY, else GOOGLE_API_KEY; the endpoint from --endpoint, \
            else GOOGLE_GEMINI_BASE_URL, else https://generativelanguage.googleapis.com.

            Exit codes: 0 all enriched · 2 finished, some records failed (see the sluice_error column) · \
            75 stopped early, resumable · 64 usage · 65 bad input data · 1 anything else.

            Examples:
              sluice run companies.csv -t Templates/company-profile.md
              sluice run comments.jsonl -t Templates/moderation.md -o labelled.jsonl --concurrency 400
              sluice run feed.jsonl -t Templates/nightly-summary.md --tier standard --api generate-content
              sluice run big.csv -t t.md --dry-run
              sluice run export.csv.gz -t t.md --on-bad-record skip
              sluice run catalog.xml -t t.md --record-element product
              sluice run data.csv -t t.md -o out.jsonl
              zcat dump.gz | sluice run - -t t.md -o - --gzip > out.jsonl.gz
              sluice run big.csv -t t.md --dry-run -o prompts.csv

            A .gz input gives a .gz output; XML in gives the same document out with the new \
            elements; input and output formats may differ; --dry-run -o writes every prompt.
            """
    )

    @Argument(help: "Input file (.csv .tsv .jsonl .ndjson .xml, each optionally .gz; gzip is also recognised by content); '-' for standard input.") var input: String
    @Option(name: [.short, .long], help: "Prompt template (Mustache, optional YAML front matter).") var template: String
    @Option(name: [.short, .long], help: "Output file; '-' for standard output. Default: INPUT.enriched.EXT beside the input.") var output: String?
    @Option(help: "JSON Schema file for structured answers (one column per top-level property).") var schema: String?
    @Option(help: "Answer column for plain-text answers (default: the template's file name).") var column: String?
    @Option(help: "Column that explains failed records.") var errorColumn = "sluice_error"
    @Option(help: "Model (default: template front matter, else gemini-3-flash-preview).") var model: String?
    @Option(help: "Service tier: flex (half price, default), standard or priority.") var tier: String?
    @Option(help: "API surface: interactions (default) or generate-content.") var api: String?
    @Option(help: "Base URL of the Gemini API (or a simulator).") var endpoint: String?
    @Option(help: "Most requests in flight (Flex answers take minutes: keep this wide).") var concurrency = 256
    @Option(help: "Journal path (default: OUTPUT.sluice-journal).") var journal: String?
    @Flag(help: "Discard the journal and start over.") var restart = false
    @Flag(help: "Send records that failed permanently in an earlier run again.") var retryFailed = false
    @Flag(help: "Render every prompt and estimate tokens and cost; send nothing.") var dryRun = false
    @Option(help: "Only the first N records.") var limit: Int?
    @Option(help: "Input format: csv, tsv, jsonl or xml (default: from the extension, else from the content).") var inputFormat: String?
    @Option(help: "Output format: csv, tsv, jsonl or xml (default: from the output's extension, else the input's format).") var outputFormat: String?
    @Flag(help: "The CSV/TSV input has no header row (fields are column_1, column_2, …).") var noHeader = false
    @Option(help: "CSV delimiter: comma, tab, semicolon, pipe or one character (default: sniffed from the first 64 KiB).") var delimiter: String?
    @Option(help: "CSV quote character, or 'none' for files without quoting (default: \").") var quote: String?
    @Option(help: "Rows with more or fewer fields than the header: fail (a bad record), pad (fill short rows), truncate (pad short, cut long).") var raggedRows = "fail"
    @Option(help: "Bytes that are not UTF-8: fail (a bad record) or replace (with U+FFFD).") var invalidUtf8 = "fail"
    @Option(help: "Largest CSV field, in bytes.") var maxFieldBytes = 1 << 20
    @Option(help: "Largest record (CSV row, JSON line, XML record), in bytes.") var maxRecordBytes = 8 << 20
    @Option(help: "Most columns in a CSV header or row.") var maxColumns = 100_000
    @Option(help: "A record that cannot be read: fail (stop, exit 65, with its position) or skip (to the dead-letter file; every good record is still enriched).") var onBadRecord = "fail"
    @Option(help: "Dead-letter file for --on-bad-record skip (default: OUTPUT.bad-records.jsonl).") var badRecords: String?
    @Option(help: "XML: the element that is one record (default: the repeated child of the root); also the record element of XML written from other formats.") var recordElement: String?
    @Flag(help: "XML: expand entities declared in the DOCTYPE (refused by default; external entities are never loaded).") var xmlEntities = false
    @Flag(help: "Compress the output with gzip (implied by an output name ending in .gz).") var gzip = false
    @Option(help: "gzip level of the output, 1 (fast, default) to 9 (small).") var gzipLevel: Int32 = 1
    @Flag(help: "CSV/TSV output: prefix ' to cells starting with = + - @ tab or CR, so a spreadsheet does not run them as formulas (off by default: it changes the data).") var csvFormulaGuard = false
    @Flag(help: "Allow new columns to replace input columns of the same name.") var overwriteColumns = false
    @Option(help: "Attempts per record before it fails.") var maxAttempts = 10
    @Option(help: "First retry delay in seconds (doubles each attempt, full jitter).") var retryBaseDelay = 2.0
    @Option(help: "Longest retry delay in seconds.") var retryMaxDelay = 120.0
    @Option(help: "Seconds one request may take, body included (Flex: up to 15 minutes).") var requestTimeout = 1200.0
    @Option(help: "Most seconds one record may spend retrying; past it the record stays pending (exit 75) or falls back.") var maxWait: Double?
    @Option(help: "Opt-in fallback tier for records Flex keeps shedding: standard (full price; counted in the summary).") var fallback: String?
    @Option(help: "Shed attempts before a record falls back (with --fallback).") var fallbackAfter = 3
    @Option(help: "Client-side requests per minute (shared by all requests).") var rpm: Int?
    @Option(help: "Client-side input tokens per minute (estimated before sending, corrected from usage).") var tpm: Int?
    @Option(help: "Retries may be at most this fraction of the last minute's requests.") var retryBudget = 0.5
    @Option(help: "Floor of the adaptive in-flight limit (its ceiling is --concurrency).") var minConcurrency = 4
    @Option(help: "Stop (resumably, exit 75) before spending more than this many USD.") var maxCost: Double?
    @Flag(help: "Send identical prompts separately instead of sharing one answer.") var noDedupe = false
    @Option(help: "Write a JSON report (tokens and cost per tier billed, retries, dedupe, latency percentiles) to this file.") var report: String?
    @Flag(help: "With --dry-run: count tokens exactly with the :countTokens API (one call per record, no generation).") var countTokens = false
    @Option(help: "Seconds between progress lines when stderr is not a terminal.") var progressInterval = 10.0
    @Option(help: "After Ctrl-C, seconds to wait for answers in flight before exiting (exit 75, resumable).") var gracePeriod = 60.0
    @Flag(name: .shortAndLong, help: "Log each retry and failure.") var verbose = false

    func run() async throws {
        let code = await execute()
        throw ExitCode(code)
    }

    func execute() async -> Int32 {
        // A file-size limit (ulimit -f) or a full quota must surface as a journal write error
        // with a message, not kill the process with SIGXFSZ halfway through a commit.
        signal(SIGXFSZ, SIG_IGN)
        do {
            let (options, gemini) = try makeOptions()
            if dryRun {
                let estimate: DryRun.Estimate
                if countTokens {
                    var counting = gemini
                    counting.api = .generateContent
                    estimate = try await GeminiClient.withClient(counting, connections: 8) { client in
                        try await DryRun.run(options, client: client, progressInterval: progressInterval)
                    }
                } else {
                    estimate = try await DryRun.run(options, progressInterval: progressInterval)
                }
                FileHandle.standardError.write(Data(DryRunText.render(estimate, options: options).utf8))
                return ExitStatus.ok
            }
            var logger = Logger(label: "sluice")
            logger.logLevel = verbose ? .debug : .notice
            let job = EnrichmentJob(options: options, logger: logger)
            let reporter = ProgressReporter(counters: job.counters, interval: progressInterval)
            let interrupts = InterruptHandler(stop: job.stop, gracePeriod: gracePeriod)
            defer { withExtendedLifetime(interrupts) {} }
            let outcome = try await GeminiClient.withClient(gemini, connections: options.concurrency) { client in
                try await withThrowingTaskGroup(of: EnrichmentJob.Outcome?.self) { group in
                    group.addTask { await reporter.run(); return nil }
                    group.addTask { try await job.run(client: client) }
                    for try await result in group {
                        if let result {
                            group.cancelAll()
                            return result
                        }
                    }
                    fatalError("the job task always returns")
                }
            }
            let text = RunReport.summary(job.counters.snapshot, outcome: outcome, model: options.model, tier: options.tier, prices: options.prices, elapsed: reporter.elapsed)
            FileHandle.standardError.write(Data((text + "\n").utf8))
            if let report {
                let json = RunReport.json(job.counters.snapshot, outcome: outcome, exitCode: ExitStatus.code(for: outcome.status), model: options.model, tier: options.tier, prices: options.prices, elapsed: reporter.elapsed)
                do {
                    try Data((JSONWriter.string(json) + "\n").utf8).write(to: URL(fileURLWithPath: report))
                } catch {
                    FileHandle.standardError.write(Data("sluice: error: cannot write the report \(report): \(error)\n".utf8))
                }
            }
            if let message = ExitStatus.message(for: outcome.status) { FileHandle.standardError.write(Data("sluice: \(message)\n".utf8)) }
            return ExitStatus.code(for: outcome.status)
        } catch let error as EngineError {
            FileHandle.standardError.write(Data("sluice: error: \(ExitStatus.text(for: error))\n".utf8))
            return ExitStatus.code(for: error)
        } catch {
            FileHandle.standardError.write(Data("sluice: error: \(error)\n".utf8))
            return 1
        }
    }

    /// The job's options and the Gemini client's configuration.
    func makeOptions() throws(EngineError) -> (RunOptions, GeminiClient.Configuration) {
        let environment = ProcessInfo.processInfo.environment
        let tmpl = try PromptTemplate(contentsOf: template)
        let s = tmpl.settings
        var inFormat: RecordFormat?
        if let inputFormat {
            guard let named = RecordFormat(name: inputFormat) else { throw EngineError(.usage, "--input-format \(inputFormat): expected csv, tsv, jsonl or xml") }
            inFormat = named
        } else {
            inFormat = RecordFormat.infer(fromPath: input)
        }
        if let outputFormat, RecordFormat(name: outputFormat) == nil {
            throw EngineError(.usage, "--output-format \(outputFormat): expected csv, tsv, jsonl or xml")
        }
        if input != "-", !FileManager.default.fileExists(atPath: input) { throw EngineError(.usage, "\(input): no such file") }
        if input != "-", inFormat == nil { inFormat = try Self.sniffFormat(input) }
        let tierName = tier ?? s.tier ?? "flex"
        guard let serviceTier = ServiceTier(rawValue: tierName) else { throw EngineError(.usage, "--tier \(tierName): expected flex, standard or priority") }
        let apiName = api ?? s.api ?? "interactions"
        guard let geminiAPI = GeminiAPI(rawValue: apiName) else { throw EngineError(.usage, "--api \(apiName): expected interactions or generate-content") }
        let key = environment["GEMINI_API_KEY"].flatMap { $0.isEmpty ? nil : $0 } ?? environment["GOOGLE_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        if key == nil, !dryRun { throw EngineError(.usage, "no API key: set GEMINI_API_KEY (or GOOGLE_API_KEY)") }
        let options = try assemble(tmpl, inFormat, serviceTier)
        var gemini = GeminiClient.Configuration(
            baseURL: endpoint ?? environment["GOOGLE_GEMINI_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://generativelanguage.googleapis.com",
            apiKey: key ?? "", api: geminiAPI)
        gemini.requestTimeout = options.requestTimeout
        return (options, gemini)
    }

    /// The format of a file whose name does not say: XML, JSON Lines or CSV by its first bytes.
    static func sniffFormat(_ path: String) throws(EngineError) -> RecordFormat {
        do { return try InputFile.sniffFormat(InputFile.open(path: path).source) } catch { throw EngineError(error) }
    }

    func assemble(_ tmpl: PromptTemplate, _ knownInputFormat: RecordFormat?, _ serviceTier: ServiceTier) throws(EngineError) -> RunOptions {
        let s = tmpl.settings
        let schemaValue = try schema.map { p throws(EngineError) in try PromptTemplate.loadSchema(p) } ?? s.schema
        func outputFormat(for inFormat: RecordFormat) -> RecordFormat {
            self.outputFormat.flatMap(RecordFormat.init(name:)) ?? output.flatMap { $0 == "-" ? nil : RecordFormat.infer(fromPath: $0) } ?? inFormat
        }
        let outputPath = output ?? (input == "-" ? "-" : JobPaths.output(for: input, format: outputFormat(for: knownInputFormat ?? .csv)))
        let journalPath = journal ?? JobPaths.journal(output: outputPath, input: input)
        let inputPath = input == "-" ? try StdinSpool.spool(to: JobPaths.stdinSpool(journal: journalPath)) : input
        let inFormat: RecordFormat
        if let knownInputFormat { inFormat = knownInputFormat } else { inFormat = try Self.sniffFormat(inputPath) }
        let outFormat = outputFormat(for: inFormat)
        var o = RunOptions(inputPath: inputPath, outputPath: outputPath, inputFormat: inFormat, outputFormat: outFormat, template: tmpl,
                           schema: schemaValue, column: column ?? s.column ?? tmpl.name, model: model ?? s.model ?? "gemini-3-flash-preview",
                           tier: serviceTier, prices: GeminiPrices(), journalPath: journalPath)
        guard concurrency >= 1 else { throw EngineError(.usage, "--concurrency must be at least 1") }
        o.concurrency = concurrency
        o.errorColumn = errorColumn
        o.restart = restart
        o.retryFailed = retryFailed
        o.dryRun = dryRun
        // A dry run writes a prompt preview only where -o says: never at the real output's path.
        if dryRun { o.outputPath = output }
        o.limit = limit
        o.overwriteColumns = overwriteColumns
        o.reader = try readerOptions()
        guard let badPolicy = BadRecordPolicy(rawValue: onBadRecord) else { throw EngineError(.usage, "--on-bad-record \(onBadRecord): expected fail or skip") }
        o.onBadRecord = badPolicy
        o.badRecordsPath = badRecords
        o.gzipOutput = gzip ? true : nil
        guard (1...9).contains(gzipLevel) else { throw EngineError(.usage, "--gzip-level must be 1 to 9") }
        o.gzipLevel = gzipLevel
        o.csvFormulaGuard = csvFormulaGuard
        o.dispatch.maxWait = maxWait
        if let fallback {
            guard let tier = ServiceTier(rawValue: fallback), tier != serviceTier else {
                throw EngineError(.usage, "--fallback \(fallback): expected a tier other than --tier (standard or priority)")
            }
            o.dispatch.fallbackTier = tier
        }
        o.dispatch.fallbackAfterShed = fallbackAfter
        o.dispatch.requestsPerMinute = rpm
        o.dispatch.tokensPerMinute = tpm
        o.dispatch.retryBudgetRatio = retryBudget
        o.dispatch.minConcurrency = minConcurrency
        o.dispatch.maxCost = maxCost
        o.dispatch.dedupe = !noDedupe
        o.countTokens = countTokens
        o.dispatch.retry.maxAttempts = maxAttempts
        o.dispatch.retry.baseDelay = retryBaseDelay
        o.dispatch.retry.maxDelay = retryMaxDelay
        o.requestTimeout = .milliseconds(Int64(requestTimeout * 1000))
        o.system = s.system
        o.maxOutputTokens = s.maxOutputTokens
        o.temperature = s.temperature
        o.thinkingLevel = s.thinkingLevel
        return o
    }

    func readerOptions() throws(EngineError) -> ReaderOptions {
        var r = ReaderOptions()
        r.hasHeader = !noHeader
        if delimiter != nil || quote != nil {
            var dialect = CSVDialect(hasHeader: !noHeader)
            if let delimiter {
                let named: [String: UInt8] = ["comma": 0x2C, "tab": 0x09, "\\t": 0x09, "semicolon": 0x3B, "pipe": 0x7C]
                if let byte = named[delimiter.lowercased()] {
                    dialect.delimiter = byte
                } else if delimiter.utf8.count == 1, let byte = delimiter.utf8.first, byte != 0x0A, byte != 0x0D, byte != 0x22 {
                    dialect.delimiter = byte
                } else {
                    throw EngineError(.usage, "--delimiter \(delimiter): expected comma, tab, semicolon, pipe or one ASCII character")
                }
            }
            if let quote {
                if quote.lowercased() == "none" {
                    dialect.quote = nil
                } else if quote.utf8.count == 1, let byte = quote.utf8.first, byte != dialect.delimiter {
                    dialect.quote = byte
                } else {
                    throw EngineError(.usage, "--quote \(quote): expected one ASCII character other than the delimiter, or none")
                }
            }
            r.dialect = dialect
        }
        guard let ragged = RaggedRowPolicy(rawValue: raggedRows) else { throw EngineError(.usage, "--ragged-rows \(raggedRows): expected fail, pad or truncate") }
        r.raggedRows = ragged
        guard let utf8 = InvalidUTF8Policy(rawValue: invalidUtf8) else { throw EngineError(.usage, "--invalid-utf8 \(invalidUtf8): expected fail or replace") }
        r.invalidUTF8 = utf8
        guard maxFieldBytes > 0, maxRecordBytes > 0 else { throw EngineError(.usage, "--max-field-bytes and --max-record-bytes must be positive") }
        r.limits.maxFieldBytes = maxFieldBytes
        r.limits.maxRecordBytes = maxRecordBytes
        guard maxColumns > 0 else { throw EngineError(.usage, "--max-columns must be positive") }
        r.limits.maxColumns = maxColumns
        r.recordElement = recordElement
        r.allowEntities = xmlEntities
        return r
    }
}
