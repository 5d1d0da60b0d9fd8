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

            DEFAULTS — how fast it sends, with nothing to tune: the rate is --rpm/--tpm when \
            given, else the quota a 429 names (QuotaFailure), else an estimate from what the \
            service accepted when 429s come dense, probed upward over time; sends are spread \
            evenly and a quota 429 pauses every send until its window resets. Flex's capacity \
            is found from shedding (503s, evictions), growing on time, never per round trip; a few \
            percent of stray 503s do not shrink it. Requests in flight follow Little's law \
            (rate x latency x 1.5) within --memory-budget and --concurrency (an upper bound, \
            default 20,000, within the open-file limit, which is raised to its hard limit). -v \
            logs each change of pace. Sheds (503) and rate limits (429) do not use up \
            --max-attempts: they are retried for up to --max-wait (six hours) per record, then \
            left pending (exit 75). Over HTTPS requests share HTTP/2 connections, 100 streams \
            each; --ca-file (or SSL_CERT_FILE) trusts a private certificate authority.

            Exit codes: 0 all enriched · 2 finished, some records failed (see the sluice_error column) · \
            75 stopped early, resumable · 64 usage · 65 bad input data · 1 anything else.

            Examples:
              sluice run companies.csv -t Templates/company-profile.md
              sluice run comments.jsonl -t Templates/moderation.md -o labelled.jsonl --rpm 1000 --tpm 4000000
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
    @Flag(help: "Render every prompt and estimate tokens and cost; send nothing.") var dryRun = false
    @Flag(help: "With --dry-run: count tokens exactly with the :countTokens API (one call per record, no generation).") var countTokens = false
    @Option(help: "Only the first N records.") var limit: Int?
    @Option(help: "Seconds between progress lines when stderr is not a terminal.") var progressInterval = 10.0
    @Option(help: "After Ctrl-C, seconds to wait for answers in flight before exiting (exit 75, resumable).") var gracePeriod = 60.0
    @Flag(name: .shortAndLong, help: "Log each retry and failure.") var verbose = false

    @OptionGroup(title: "Input") var inputOptions: InputOptions
    @OptionGroup(title: "Output") var outputOptions: OutputOptions
    @OptionGroup(title: "Model") var modelOptions: ModelOptions
    @OptionGroup(title: "Dispatch") var dispatchOptions: DispatchOptions
    @OptionGroup(title: "Journal") var journalOptions: JournalOptions

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
                        try await DryRun.run(options, client: client, progressInterval: progressInterval, warn: Self.warn)
                    }
                } else {
                    estimate = try await DryRun.run(options, progressInterval: progressInterval, warn: Self.warn)
                }
                FileHandle.standardError.write(Data(DryRunText.render(estimate, options: options).utf8))
                return ExitStatus.ok
            }
            var logger = Logger(label: "sluice")
            logger.logLevel = verbose ? .debug : .notice
            let job = EnrichmentJob(options: options, logger: logger, warn: Self.warn)
            let reporter = ProgressReporter(counters: job.counters, interval: progressInterval)
            let interrupts = InterruptHandler(stop: job.stop, gracePeriod: gracePeriod)
            defer { withExtendedLifetime(interrupts) {} }
            let outcome = try await JobRunner.run(job, gemini: gemini, reporter: reporter)
            let summary = RunSummary(job.counters.snapshot, outcome: outcome, model: options.prompt.model, tier: options.prompt.tier, prices: options.prices, elapsed: reporter.elapsed)
            let text = RunReport.text(summary)
            FileHandle.standardError.write(Data((text + "\n").utf8))
            if let report = outputOptions.report {
                let json = RunReport.json(summary, exitCode: ExitStatus.code(for: outcome.status))
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

    /// Input warnings, as the job reports them before any request.
    static let warn: @Sendable (String) -> Void = { FileHandle.standardError.write(Data("sluice: warning: \($0)\n".utf8)) }

    /// The job's options and the Gemini client's configuration: flags over front matter over defaults.
    func makeOptions() throws(EngineError) -> (JobConfiguration, GeminiClient.Configuration) {
        let environment = ProcessInfo.processInfo.environment
        let tmpl = try PromptTemplate(contentsOf: template)
        let s = tmpl.settings
        var inFormat = inputOptions.inputFormat ?? RecordFormat.infer(fromPath: input)
        if input != "-", !FileManager.default.fileExists(atPath: input) { throw EngineError(.usage, "\(input): no such file") }
        if input != "-", inFormat == nil { inFormat = try Self.sniffFormat(input) }
        let tierName = modelOptions.tier?.rawValue ?? s.tier ?? "flex"
        guard let serviceTier = ServiceTier(rawValue: tierName), serviceTier != .batch else { throw EngineError(.usage, "tier \(tierName) (front matter): expected flex, standard or priority") }
        let apiName = modelOptions.api?.rawValue ?? s.api ?? "interactions"
        guard let geminiAPI = GeminiAPI(rawValue: apiName) else { throw EngineError(.usage, "api \(apiName) (front matter): expected interactions or generate-content") }
        let key = GeminiEnvironment.apiKey(environment)
        if key == nil, !dryRun { throw EngineError(.usage, GeminiEnvironment.missingKey) }
        let options = try assemble(tmpl, inFormat, serviceTier)
        var gemini = try GeminiEnvironment.configuration(endpoint: modelOptions.endpoint, caFile: modelOptions.caFile, apiKey: key ?? "",
                                                         api: geminiAPI, environment)
        gemini.requestTimeout = options.requestTimeout
        gemini.requestsPerLane = modelOptions.httpLaneSize
        return (options, gemini)
    }

    /// The format of a file whose name does not say: XML, JSON Lines or CSV by its first bytes.
    static func sniffFormat(_ path: String) throws(EngineError) -> RecordFormat {
        do { return try InputFile.sniffFormat(InputFile.open(path: path).source) } catch { throw EngineError(error) }
    }

    func assemble(_ tmpl: PromptTemplate, _ knownInputFormat: RecordFormat?, _ serviceTier: ServiceTier) throws(EngineError) -> JobConfiguration {
        let s = tmpl.settings
        let output = outputOptions.output
        let schemaValue = try modelOptions.schema.map { p throws(EngineError) in try PromptTemplate.loadSchema(p) } ?? s.schema
        func outputFormat(for inFormat: RecordFormat) -> RecordFormat {
            outputOptions.outputFormat ?? output.flatMap { $0 == "-" ? nil : RecordFormat.infer(fromPath: $0) } ?? inFormat
        }
        let outputPath = output ?? (input == "-" ? "-" : JobPaths.output(for: input, format: outputFormat(for: knownInputFormat ?? .csv)))
        let journalPath = journalOptions.journal ?? JobPaths.journal(output: outputPath, input: input)
        let inputPath = input == "-" ? try StdinSpool.spool(to: JobPaths.stdinSpool(journal: journalPath)) : input
        let inFormat: RecordFormat
        if let knownInputFormat { inFormat = knownInputFormat } else { inFormat = try Self.sniffFormat(inputPath) }
        var o = JobConfiguration(
            input: .init(path: inputPath, format: inFormat),
            output: .init(path: outputPath, format: outputFormat(for: inFormat), column: outputOptions.column ?? s.column ?? tmpl.name),
            prompt: .init(template: tmpl, schema: schemaValue, model: modelOptions.model ?? s.model ?? ModelOptions.defaultModel, tier: serviceTier),
            journal: .init(path: journalPath), prices: GeminiPrices())
        o.concurrency = dispatchOptions.ceiling(warn: Self.warn)
        o.output.errorColumn = outputOptions.errorColumn
        o.journal.restart = journalOptions.restart
        o.journal.retryFailed = journalOptions.retryFailed
        o.dryRun = dryRun
        // A dry run writes a prompt preview only where -o says: never at the real output's path.
        if dryRun { o.output.path = output }
        o.input.limit = limit
        o.output.overwriteColumns = outputOptions.overwriteColumns
        do { o.input.reader = try inputOptions.reader() } catch { throw EngineError(.usage, error.message) }
        o.input.onBadRecord = inputOptions.onBadRecord
        o.input.badRecordsPath = inputOptions.badRecords
        o.output.gzip = outputOptions.gzip ? true : nil
        o.output.gzipLevel = outputOptions.gzipLevel
        o.output.csvFormulaGuard = outputOptions.csvFormulaGuard
        do { o.dispatch = try dispatchOptions.policy(tier: serviceTier) } catch { throw EngineError(.usage, error.message) }
        o.countTokens = countTokens
        let modeName = modelOptions.mode?.rawValue ?? s.mode ?? "flex"
        guard let mode = JobConfiguration.Mode(rawValue: modeName) else { throw EngineError(.usage, "mode \(modeName) (front matter): expected flex or batch") }
        o.mode = mode
        if let fallback = modelOptions.batchFallback {
            guard fallback == .flex else { throw EngineError(.usage, "--batch-fallback: expected flex") }
            o.batch.fallbackOnline = true
        }
        o.batch.pollInitial = modelOptions.batchPoll
        if let tokens = modelOptions.batchWaveTokens {
            guard tokens > 0 else { throw EngineError(.usage, "--batch-wave-tokens must be positive") }
            o.batch.waveTokens = tokens
        }
        o.requestTimeout = .milliseconds(Int64(dispatchOptions.requestTimeout * 1000))
        o.prompt.system = s.system
        o.prompt.maxOutputTokens = s.maxOutputTokens
        o.prompt.temperature = s.temperature
        o.prompt.thinkingLevel = s.thinkingLevel
        switch dispatchOptions.pack ?? (s.packAuto ? .auto : nil) {
        case .auto?:
            o.prompt.pack = PackLayout.autoRecords
            o.prompt.packTokens = dispatchOptions.packTokens ?? PackLayout.autoTokens
        case .records(let n)?:
            o.prompt.pack = n
            o.prompt.packTokens = dispatchOptions.packTokens
        case nil:
            o.prompt.pack = s.pack ?? 1
            o.prompt.packTokens = dispatchOptions.packTokens
        }
        return o
    }
}
