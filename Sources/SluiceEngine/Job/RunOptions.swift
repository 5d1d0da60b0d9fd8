import SluiceFormats
import SluiceModel
import SluiceJSON

/// Everything `sluice run` needs, validated by the CLI; template front matter already merged.
public struct RunOptions: Sendable {
    public var inputPath: String
    /// nil: beside the input, `NAME.enriched.EXT`; "-": standard output.
    public var outputPath: String?
    public var inputFormat: RecordFormat
    public var outputFormat: RecordFormat
    public var template: PromptTemplate
    public var schema: JSONValue?
    public var column: String
    public var errorColumn = "sluice_error"
    public var model: String
    public var tier: ServiceTier
    /// What the provider charges: cost cap, dry-run estimate, report.
    public var prices: any PriceBook
    public var concurrency = 256
    public var journalPath: String
    public var restart = false
    public var retryFailed = false
    public var dryRun = false
    /// With `dryRun`: have the provider count each prompt's tokens instead of estimating.
    public var countTokens = false
    public var limit: Int?
    public var overwriteColumns = false
    public var dispatch = DispatchPolicy()
    public var requestTimeout: Duration = .seconds(20 * 60)
    /// Dialect, header, size caps and policies of the input reader.
    public var reader = ReaderOptions()
    public var onBadRecord = BadRecordPolicy.fail
    /// Dead-letter file of the `skip` bad-record policy; nil: `OUTPUT.bad-records.jsonl` (beside the
    /// journal when the output is standard output).
    public var badRecordsPath: String?
    /// nil: gzip when the output's name ends in `.gz`.
    public var gzipOutput: Bool?
    public var gzipLevel: Int32 = 1
    /// CSV/TSV output: prefix `'` to cells a spreadsheet would run as formulas.
    public var csvFormulaGuard = false
    public var system: String?
    public var maxOutputTokens: Int?
    public var temperature: Double?
    public var thinkingLevel: String?

    public init(inputPath: String, outputPath: String?, inputFormat: RecordFormat, outputFormat: RecordFormat, template: PromptTemplate,
                schema: JSONValue?, column: String, model: String, tier: ServiceTier, prices: any PriceBook, journalPath: String) {
        self.inputPath = inputPath
        self.outputPath = outputPath
        self.inputFormat = inputFormat
        self.outputFormat = outputFormat
        self.template = template
        self.schema = schema
        self.column = column
        self.model = model
        self.tier = tier
        self.prices = prices
        self.journalPath = journalPath
    }

    /// The request for one rendered prompt.
    func request(prompt: String) -> GenerationRequest {
        GenerationRequest(model: model, prompt: prompt, system: system, schema: schema, tier: tier,
                          maxOutputTokens: maxOutputTokens, temperature: temperature, thinkingLevel: thinkingLevel)
    }

    /// New columns: one per top-level schema property, else the answer column; then the error column.
    public var answerColumns: [String] {
        if let properties = schema?["properties"]?.objectValue, schema?["type"]?.stringValue ?? "object" == "object", !properties.isEmpty {
            return properties.keys
        }
        return [column]
    }
}
