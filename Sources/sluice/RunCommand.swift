import ArgumentParser
import Foundation
import Logging
import SluiceEngine
import SluiceFormats
import SluiceGemini
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
            """
    )

    @Argument(help: "Input file (.csv .tsv .jsonl .ndjson).") var input: String
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
    @Option(help: "Input format when the extension does not say: csv, tsv, jsonl.") var inputFormat: String?
    @Option(help: "Output format when the extension does not say: csv, tsv, jsonl.") var outputFormat: String?
    @Flag(help: "The CSV/TSV input has no header row (fields are column_1, column_2, …).") var noHeader = false
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
        do {
            let options = try makeOptions()
            if dryRun { return try await DryRun.run(options) }
            var logger = Logger(label: "sluice")
            logger.logLevel = verbose ? .debug : .notice
            let job = EnrichmentJob(options: options, logger: logger)
            let reporter = ProgressReporter(counters: job.counters, interval: progressInterval)
            let interrupts = InterruptHandler(stop: job.stop, gracePeriod: gracePeriod)
            defer { withExtendedLifetime(interrupts) {} }
            let outcome = try await withThrowingTaskGroup(of: EnrichmentJob.Outcome?.self) { group in
                group.addTask { await reporter.run(); return nil }
                group.addTask { try await job.run() }
                for try await result in group {
                    if let result {
                        group.cancelAll()
                        return result
                    }
                }
                fatalError("the job task always returns")
            }
            let text = RunReport.summary(job.counters.snapshot, outcome: outcome, model: options.model, tier: options.tier, elapsed: reporter.elapsed)
            FileHandle.standardError.write(Data((text + "\n").utf8))
            if let report {
                let json = RunReport.json(job.counters.snapshot, outcome: outcome, model: options.model, tier: options.tier, elapsed: reporter.elapsed)
                do {
                    try Data((JSONWriter.string(json) + "\n").utf8).write(to: URL(fileURLWithPath: report))
                } catch {
                    FileHandle.standardError.write(Data("sluice: error: cannot write the report \(report): \(error)\n".utf8))
                }
            }
            if let message = outcome.message { FileHandle.standardError.write(Data("sluice: \(message)\n".utf8)) }
            return outcome.exitCode.rawValue
        } catch let error as SluiceError {
            FileHandle.standardError.write(Data("sluice: error: \(error.message)\n".utf8))
            return error.exitCode.rawValue
        } catch {
            FileHandle.standardError.write(Data("sluice: error: \(error)\n".utf8))
            return 1
        }
    }

    func makeOptions() throws(SluiceError) -> RunOptions {
        let environment = ProcessInfo.processInfo.environment
        let tmpl = try PromptTemplate(contentsOf: template)
        let s = tmpl.settings
        guard let inFormat = inputFormat.map({ RecordFormat(name: $0) }) ?? RecordFormat.infer(fromPath: input) else {
            throw SluiceError(.usage, "cannot tell the format of \(input) from its extension; pass --input-format csv|tsv|jsonl")
        }
        if input != "-", !FileManager.default.fileExists(atPath: input) { throw SluiceError(.usage, "\(input): no such file") }
        let outFormat = outputFormat.flatMap(RecordFormat.init(name:)) ?? output.flatMap { $0 == "-" ? nil : RecordFormat.infer(fromPath: $0) } ?? inFormat
        let tierName = tier ?? s.tier ?? "flex"
        guard let serviceTier = ServiceTier(rawValue: tierName) else { throw SluiceError(.usage, "--tier \(tierName): expected flex, standard or priority") }
        let apiName = api ?? s.api ?? "interactions"
        guard let geminiAPI = GeminiAPI(rawValue: apiName) else { throw SluiceError(.usage, "--api \(apiName): expected interactions or generate-content") }
        let key = environment["GEMINI_API_KEY"].flatMap { $0.isEmpty ? nil : $0 } ?? environment["GOOGLE_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        guard let key else {
            if !dryRun { throw SluiceError(.usage, "no API key: set GEMINI_API_KEY (or GOOGLE_API_KEY)") }
            return try assemble(tmpl, inFormat, outFormat, serviceTier, geminiAPI, key: "", environment: environment)
        }
        return try assemble(tmpl, inFormat, outFormat, serviceTier, geminiAPI, key: key, environment: environment)
    }

    func assemble(_ tmpl: PromptTemplate, _ inFormat: RecordFormat, _ outFormat: RecordFormat, _ serviceTier: ServiceTier, _ geminiAPI: GeminiAPI,
                  key: String, environment: [String: String]) throws(SluiceError) -> RunOptions {
        let s = tmpl.settings
        let schemaValue = try schema.map { p throws(SluiceError) in try PromptTemplate.loadSchema(p) } ?? s.schema
        let outputPath = output ?? (input == "-" ? "-" : EnrichmentJob.defaultOutputPath(for: input, format: outFormat))
        let journalPath = journal ?? (outputPath != "-" ? outputPath + ".sluice-journal" : input == "-" ? "sluice-stdin.sluice-journal" : input + ".sluice-journal")
        // Standard input is spooled beside the journal: the merge pass reads the input twice,
        // and a resumed run compares the new spool's identity with the journal's.
        let inputPath = input == "-" ? try StdinSpool.spool(to: journalPath + ".input") : input
        var o = RunOptions(inputPath: inputPath, outputPath: outputPath, inputFormat: inFormat, outputFormat: outFormat, template: tmpl,
                           schema: schemaValue, column: column ?? s.column ?? tmpl.name, model: model ?? s.model ?? "gemini-3-flash-preview",
                           tier: serviceTier, api: geminiAPI,
                           endpoint: endpoint ?? environment["GOOGLE_GEMINI_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://generativelanguage.googleapis.com",
                           apiKey: key, journalPath: journalPath)
        guard concurrency >= 1 else { throw SluiceError(.usage, "--concurrency must be at least 1") }
        o.concurrency = concurrency
        o.errorColumn = errorColumn
        o.restart = restart
        o.retryFailed = retryFailed
        o.dryRun = dryRun
        o.limit = limit
        o.overwriteColumns = overwriteColumns
        o.hasHeader = !noHeader
        o.dispatch.maxWait = maxWait
        if let fallback {
            guard let tier = ServiceTier(rawValue: fallback), tier != serviceTier else {
                throw SluiceError(.usage, "--fallback \(fallback): expected a tier other than --tier (standard or priority)")
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
}
