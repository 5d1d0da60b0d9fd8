import ArgumentParser
import SluiceEngine
import SluiceFormats
import SluiceGemini
import SluiceModel

// The flags of `sluice run`, in the groups `--help` shows; each group checks itself in
// `validate()`, so a bad value is a usage error (exit 64) before anything is opened.

/// `batch` is how Batch API answers are billed, not a tier to ask for online (`--mode batch`).
extension ServiceTier: ExpressibleByArgument {
    public init?(argument: String) {
        guard let tier = ServiceTier(rawValue: argument), tier != .batch else { return nil }
        self = tier
    }

    public static var allValueStrings: [String] { allCases.filter { $0 != .batch }.map(\.rawValue) }
}
extension JobConfiguration.Mode: ExpressibleByArgument {}

/// `--pack N` or `--pack auto`.
enum PackSize: ExpressibleByArgument, Equatable {
    case records(Int)
    case auto

    init?(argument: String) {
        if argument == "auto" { self = .auto } else if let n = Int(argument), n >= 1 { self = .records(n) } else { return nil }
    }
}
extension GeminiAPI: ExpressibleByArgument {}
extension RaggedRowPolicy: ExpressibleByArgument {}
extension InvalidUTF8Policy: ExpressibleByArgument {}
extension BadRecordPolicy: ExpressibleByArgument {}
extension RecordFormat: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
}

struct InputOptions: ParsableArguments {
    @Option(help: "Input format: csv, tsv, jsonl or xml (default: from the extension, else from the content).") var inputFormat: RecordFormat?
    @Flag(help: "The CSV/TSV input has no header row (fields are column_1, column_2, …).") var noHeader = false
    @Option(help: "CSV delimiter: comma, tab, semicolon, pipe or one character (default: sniffed from the first 64 KiB).") var delimiter: String?
    @Option(help: "CSV quote character, or 'none' for files without quoting (default: \").") var quote: String?
    @Option(help: "Rows with more or fewer fields than the header: fail (a bad record), pad (fill short rows), truncate (pad short, cut long).") var raggedRows = RaggedRowPolicy.fail
    @Option(help: "Bytes that are not UTF-8: fail (a bad record) or replace (with U+FFFD).") var invalidUtf8 = InvalidUTF8Policy.fail
    @Option(help: "Largest CSV field, in bytes.") var maxFieldBytes = 1 << 20
    @Option(help: "Largest record (CSV row, JSON line, XML record), in bytes.") var maxRecordBytes = 8 << 20
    @Option(help: "Most columns in a CSV header or row.") var maxColumns = 100_000
    @Option(help: "A record that cannot be read: fail (stop, exit 65, with its position) or skip (to the dead-letter file; every good record is still enriched).") var onBadRecord = BadRecordPolicy.fail
    @Option(help: "Dead-letter file for --on-bad-record skip (default: OUTPUT.bad-records.jsonl).") var badRecords: String?
    @Option(help: "XML: the element that is one record (default: the repeated child of the root); also the record element of XML written from other formats.") var recordElement: String?
    @Flag(help: "XML: expand entities declared in the DOCTYPE (refused by default; external entities are never loaded).") var xmlEntities = false

    static let namedDelimiters: [String: UInt8] = ["comma": 0x2C, "tab": 0x09, "\\t": 0x09, "semicolon": 0x3B, "pipe": 0x7C]

    func validate() throws {
        guard maxFieldBytes > 0, maxRecordBytes > 0 else { throw ValidationError("--max-field-bytes and --max-record-bytes must be positive") }
        guard maxColumns > 0 else { throw ValidationError("--max-columns must be positive") }
        _ = try dialect()
    }

    /// The CSV dialect the flags fix (nil: sniff).
    func dialect() throws(ValidationError) -> CSVDialect? {
        guard delimiter != nil || quote != nil else { return nil }
        var dialect = CSVDialect(hasHeader: !noHeader)
        if let delimiter {
            if let byte = Self.namedDelimiters[delimiter.lowercased()] {
                dialect.delimiter = byte
            } else if delimiter.utf8.count == 1, let byte = delimiter.utf8.first, byte != 0x0A, byte != 0x0D, byte != 0x22 {
                dialect.delimiter = byte
            } else {
                throw ValidationError("--delimiter \(delimiter): expected comma, tab, semicolon, pipe or one ASCII character")
            }
        }
        if let quote {
            if quote.lowercased() == "none" {
                dialect.quote = nil
            } else if quote.utf8.count == 1, let byte = quote.utf8.first, byte != dialect.delimiter {
                dialect.quote = byte
            } else {
                throw ValidationError("--quote \(quote): expected one ASCII character other than the delimiter, or none")
            }
        }
        return dialect
    }

    /// The reader's options (validate() has checked them; a bad dialect is never sniffed instead).
    func reader() throws(ValidationError) -> ReaderOptions {
        var r = ReaderOptions()
        r.hasHeader = !noHeader
        r.dialect = try dialect()
        r.raggedRows = raggedRows
        r.invalidUTF8 = invalidUtf8
        r.limits.maxFieldBytes = maxFieldBytes
        r.limits.maxRecordBytes = maxRecordBytes
        r.limits.maxColumns = maxColumns
        r.recordElement = recordElement
        r.allowEntities = xmlEntities
        return r
    }
}

struct OutputOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Output file; '-' for standard output. Default: INPUT.enriched.EXT beside the input.") var output: String?
    @Option(help: "Output format: csv, tsv, jsonl or xml (default: from the output's extension, else the input's format).") var outputFormat: RecordFormat?
    @Option(help: "Answer column for plain-text answers (default: the template's file name).") var column: String?
    @Option(help: "Column that explains failed records.") var errorColumn = "sluice_error"
    @Flag(help: "Allow new columns to replace input columns of the same name.") var overwriteColumns = false
    @Flag(help: "Compress the output with gzip (implied by an output name ending in .gz).") var gzip = false
    @Option(help: "gzip level of the output, 1 (fast, default) to 9 (small).") var gzipLevel: Int32 = 1
    @Flag(help: "CSV/TSV output: prefix ' to cells starting with = + - @ tab or CR, so a spreadsheet does not run them as formulas (off by default: it changes the data).") var csvFormulaGuard = false
    @Option(help: "Write a JSON report (tokens and cost per tier billed, retries, dedupe, latency percentiles) to this file.") var report: String?

    func validate() throws {
        guard (1...9).contains(gzipLevel) else { throw ValidationError("--gzip-level must be 1 to 9") }
    }
}

struct ModelOptions: ParsableArguments {
    @Option(help: "JSON Schema file for structured answers (one column per top-level property).") var schema: String?
    @Option(help: "Model (default: template front matter, else \(ModelOptions.defaultModel)).") var model: String?
    @Option(help: "Service tier: flex (half price, default), standard or priority.") var tier: ServiceTier?
    @Option(help: "API surface: interactions (default) or generate-content.") var api: GeminiAPI?
    @Option(help: "flex (online requests, default) or batch (Gemini's Batch API: same half price, its own far larger limits, answers within 24 hours; resumable waves).") var mode: JobConfiguration.Mode?
    @Option(help: "With --mode batch: records a batch failed for go online (flex) instead of into another wave.") var batchFallback: JobConfiguration.Mode?
    @Option(help: "Base URL of the Gemini API (or a simulator).") var endpoint: String?
    @Option(help: "PEM file of a certificate authority to trust besides the system's (a TLS proxy's, `sluice simulate --tls`'s); repeatable. SSL_CERT_FILE is read too.") var caFile: [String] = []
    /// Requests one HTTP pool carries (benchmarks compare lane sizes; see HTTPLanes).
    @Option(help: .hidden) var httpLaneSize = HTTPLanes.defaultPerLane
    /// First poll delay of a batch, seconds (tests and benchmarks shorten it; --time-scale scales it too).
    @Option(help: .hidden) var batchPoll = 5.0
    /// Estimated input tokens per batch wave (below the provider's enqueued-token cap).
    @Option(help: "With --mode batch: estimated input tokens per wave at most (default 2,000,000, under Tier 1's 3 M enqueued tokens for Flash).") var batchWaveTokens: Int?

    func validate() throws {
        guard httpLaneSize >= 1 else { throw ValidationError("--http-lane-size must be at least 1") }
    }

    static let defaultModel = "gemini-3.5-flash"
    static let defaultEndpoint = "https://generativelanguage.googleapis.com"
}

struct DispatchOptions: ParsableArguments {
    @Option(help: "Upper bound of records in process and requests in flight (default \(DispatchOptions.defaultConcurrency), within the open-file limit). The limit in use is found at run time; see DEFAULTS.") var concurrency: Int?
    @Option(help: "Failed attempts per record before it fails. Sheds (503) and rate limits (429) do not count: they are retried until --max-wait.") var maxAttempts = 10
    @Option(help: "First retry delay in seconds (doubles each attempt, full jitter).") var retryBaseDelay = 2.0
    @Option(help: "Longest retry delay in seconds.") var retryMaxDelay = 120.0
    @Option(help: "Seconds one request may take, body included (Flex: up to 15 minutes).") var requestTimeout = 1200.0
    @Option(help: "Most seconds one record may spend retrying (default 21600: six hours); past it the record stays pending (exit 75) or falls back.") var maxWait: Double?
    @Option(help: "Opt-in fallback tier for records Flex keeps shedding: standard (full price; counted in the summary).") var fallback: ServiceTier?
    @Option(help: "Shed attempts before a record falls back (with --fallback).") var fallbackAfter = 3
    @Option(help: "Your requests-per-minute quota: paced evenly just under it (default: learned from 429s).") var rpm: Int?
    @Option(help: "Your input-tokens-per-minute quota: paced just under it (estimated before sending, corrected from usage; default: learned from 429s that name it).") var tpm: Int?
    @Option(help: "Retries may be at most this fraction of the last minute's requests.") var retryBudget = 0.5
    @Option(help: "Floor of the capacity limit on requests in flight.") var minConcurrency = 4
    @Option(help: "Megabytes the records in process may take (bounds requests in flight; about 36 KB each plus the prompt).") var memoryBudget = 1024
    @Option(help: .hidden) var timeScale = 1.0
    @Option(help: "Stop (resumably, exit 75) before spending more than this many USD.") var maxCost: Double?
    @Flag(help: "Send identical prompts separately instead of sharing one answer.") var noDedupe = false
    @Option(help: "Records per request: N, or auto (as many as fit --pack-tokens, at most 100). Default 1; front matter 'pack:'. The template's part above a '{{! per record }}' line (else the system instruction) is said once per request; each record's part goes as an item whose answer is checked on its own.") var pack: PackSize?
    @Option(help: "Most input tokens of records one pack carries (default with --pack auto: 4000).") var packTokens: Int?

    func validate() throws {
        if let concurrency, concurrency < 1 { throw ValidationError("--concurrency must be at least 1") }
        if let packTokens, packTokens < 1 { throw ValidationError("--pack-tokens must be at least 1") }
        guard memoryBudget >= 1 else { throw ValidationError("--memory-budget must be at least 1 (MB)") }
        guard timeScale > 0 else { throw ValidationError("--time-scale must be positive") }
        guard maxAttempts >= 1 else { throw ValidationError("--max-attempts must be at least 1") }
        guard requestTimeout > 0 else { throw ValidationError("--request-timeout must be positive") }
    }

    /// The dispatcher's policy; `tier` is the job's tier (a fallback must differ from it).
    func policy(tier: ServiceTier) throws(ValidationError) -> DispatchPolicy {
        var p = DispatchPolicy()
        if let maxWait { p.maxWait = maxWait }
        if let fallback {
            guard fallback != tier else { throw ValidationError("--fallback \(fallback.rawValue): expected a tier other than --tier (standard or priority)") }
            p.fallbackTier = fallback
        }
        p.fallbackAfterShed = fallbackAfter
        p.requestsPerMinute = rpm
        p.tokensPerMinute = tpm
        p.retryBudgetRatio = retryBudget
        p.minConcurrency = minConcurrency
        p.maxCost = maxCost
        p.dedupe = !noDedupe
        p.retry.maxAttempts = maxAttempts
        p.retry.baseDelay = retryBaseDelay
        p.retry.maxDelay = retryMaxDelay
        p.memoryBudget = memoryBudget << 20
        return timeScale == 1 ? p : p.scaled(by: timeScale)
    }

    static let defaultConcurrency = 20_000

    /// The ceiling of the job: `--concurrency` or the default, within what the open-file limit
    /// allows (raised to its hard limit first); a clamp is said once through `warn`.
    func ceiling(warn: (String) -> Void) -> Int {
        let allowed = OpenFileLimit.requestsAllowed(softLimit: OpenFileLimit.raiseToHard())
        let wanted = concurrency ?? Self.defaultConcurrency
        // The default is clamped in silence unless the limit is far below it.
        if wanted > allowed, concurrency != nil || allowed < wanted / 2 {
            warn("the open-file limit allows about \(allowed) requests in flight (one socket each over HTTP/1.1), not \(wanted); using \(allowed) (raise it with 'ulimit -n')")
            return allowed
        }
        return min(wanted, allowed)
    }
}

struct JournalOptions: ParsableArguments {
    @Option(help: "Journal path (default: OUTPUT.sluice-journal).") var journal: String?
    @Flag(help: "Discard the journal and start over.") var restart = false
    @Flag(help: "Send records that failed permanently in an earlier run again.") var retryFailed = false
}
