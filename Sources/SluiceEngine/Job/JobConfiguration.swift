import SluiceFormats
import SluiceJSON
import SluiceModel

/// Everything a job needs, in the groups its parts consume; the CLI fills it in (flags over
/// template front matter over defaults) and validates it.
public struct JobConfiguration: Sendable {
    /// What is read, and how.
    public struct Input: Sendable {
        public var path: String
        public var format: RecordFormat
        /// Dialect, header, size caps and policies of the reader.
        public var reader = ReaderOptions()
        public var onBadRecord = BadRecordPolicy.fail
        /// Dead-letter file of the `skip` bad-record policy; nil: `OUTPUT.bad-records.jsonl`
        /// (beside the journal when the output is standard output).
        public var badRecordsPath: String?
        /// Only the first N records.
        public var limit: Int?

        public init(path: String, format: RecordFormat) {
            self.path = path
            self.format = format
        }
    }

    /// What is written, and how.
    public struct Output: Sendable {
        /// nil: beside the input, `NAME.enriched.EXT` (a dry run: no preview); "-": standard output.
        public var path: String?
        public var format: RecordFormat
        /// The answer column of plain-text answers.
        public var column: String
        public var errorColumn = "sluice_error"
        public var overwriteColumns = false
        /// nil: gzip when the output's name ends in `.gz`.
        public var gzip: Bool?
        public var gzipLevel: Int32 = 1
        /// CSV/TSV output: prefix `'` to cells a spreadsheet would run as formulas.
        public var csvFormulaGuard = false

        public init(path: String?, format: RecordFormat, column: String) {
            self.path = path
            self.format = format
            self.column = column
        }
    }

    /// What each request asks: the template and the generation settings.
    public struct Prompt: Sendable {
        public var template: PromptTemplate
        public var schema: JSONValue?
        public var system: String?
        public var model: String
        public var tier: ServiceTier
        public var maxOutputTokens: Int?
        public var temperature: Double?
        public var thinkingLevel: String?
        /// Records per request at most (1: each alone). See `PackLayout`.
        public var pack = 1
        /// Input tokens a pack may carry (estimated: its items and their JSON); nil: no bound.
        public var packTokens: Int?

        public init(template: PromptTemplate, schema: JSONValue?, model: String, tier: ServiceTier) {
            self.template = template
            self.schema = schema
            self.model = model
            self.tier = tier
        }

        /// The request for one rendered prompt.
        public func request(_ prompt: String) -> GenerationRequest {
            GenerationRequest(model: model, prompt: prompt, system: system, schema: schema, tier: tier,
                              maxOutputTokens: maxOutputTokens, temperature: temperature, thinkingLevel: thinkingLevel)
        }
    }

    /// Where the answers are kept.
    public struct JournalSettings: Sendable {
        public var path: String
        /// Discard an existing journal and start over.
        public var restart = false
        /// Send records that failed permanently in an earlier run again.
        public var retryFailed = false

        public init(path: String) { self.path = path }
    }

    /// How answers are bought: online requests (Flex or another tier), or the Batch API.
    public enum Mode: String, Sendable, CaseIterable {
        case flex, batch
    }

    /// Batch API settings (`Mode.batch`).
    public struct Batch: Sendable {
        /// Records a batch failed for (or left out) go online afterwards instead of in another wave.
        public var fallbackOnline = false
        /// Estimated input tokens per wave at most: a wave must fit the provider's enqueued-token
        /// cap (Gemini Tier 1: 3 M for the Flash models), so big jobs go in several.
        public var waveTokens = 2_000_000
        /// Records per wave at most (and the input file's 2 GB bound, checked as it is written).
        public var waveRecords = 1_000_000
        /// Poll delay: from `pollInitial` seconds, ×1.5 per poll up to `pollMax` (scaled with
        /// the dispatch policy's time scale).
        public var pollInitial = 5.0
        public var pollMax = 120.0
        /// Waves a record may go in before it fails with its last error.
        public var maxWaves = 3
        /// A stable id of the job, part of each wave's display name (how a batch created just
        /// before a crash is found again).
        public var jobTag = "job"

        public init() {}
    }

    public var mode = Mode.flex
    public var batch = Batch()
    public var input: Input
    public var output: Output
    public var prompt: Prompt
    public var journal: JournalSettings
    public var dispatch = DispatchPolicy()
    /// The ceiling of requests in process.
    public var concurrency = 20_000
    public var requestTimeout: Duration = .seconds(20 * 60)
    /// What the provider charges: cost cap, dry-run estimate, report.
    public var prices: any PriceBook
    public var dryRun = false
    /// With `dryRun`: have the provider count each prompt's tokens instead of estimating.
    public var countTokens = false

    public init(input: Input, output: Output, prompt: Prompt, journal: JournalSettings, prices: any PriceBook) {
        self.input = input
        self.output = output
        self.prompt = prompt
        self.journal = journal
        self.prices = prices
    }

    /// New columns: one per top-level schema property, else the answer column.
    public var answerColumns: [String] {
        if let properties = prompt.schema?["properties"]?.objectValue, prompt.schema?["type"]?.stringValue ?? "object" == "object", !properties.isEmpty {
            return properties.keys
        }
        return [output.column]
    }
}
