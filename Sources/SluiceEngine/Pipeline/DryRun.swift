import Foundation
import SluiceFormats
import SluiceGemini

/// `--dry-run`: renders every prompt and prices the job at flex and at standard without
/// generating anything. Input tokens are estimated (characters / 4), or counted exactly by the
/// `:countTokens` API with `--count-tokens`; output is assumed at `max_output_tokens` (else 256).
public enum DryRun {
    public static func run(_ options: RunOptions) async throws(SluiceError) -> Int32 {
        let job = EnrichmentJob(options: options, logger: .init(label: "sluice"))
        _ = try job.preflight()
        let reader = try job.openReader()
        var client: GeminiClient?
        let http = options.countTokens ? GeminiClient.makeHTTPClient(connections: 8) : nil
        if let http { client = GeminiClient(configuration: .init(baseURL: options.endpoint, apiKey: options.apiKey, api: .generateContent), httpClient: http) }
        let counted: Result<(Int, Int, String?), SluiceError>
        do {
            counted = .success(try await tally(options, reader: reader, client: client))
        } catch {
            counted = .failure(error)
        }
        try? await http?.shutdown()
        let (records, tokens, first) = try counted.get()
        report(options, records: records, tokens: tokens, first: first, outputPerRecord: options.maxOutputTokens ?? 256)
        return 0
    }

    /// Renders every prompt and adds up its input tokens: (records, tokens, first prompt).
    static func tally(_ options: RunOptions, reader: any RecordReader, client: GeminiClient?) async throws(SluiceError) -> (Int, Int, String?) {
        var records = 0
        var tokens = 0
        var first: String?
        let systemTokens = ((options.system?.unicodeScalars.count ?? 0) + 3) / 4
        while true {
            let next: Record?
            do { next = try reader.next() } catch { throw SluiceError(error) }
            guard let record = next else { break }
            if let limit = options.limit, record.number > limit { break }
            let prompt = options.template.render(record)
            if first == nil { first = prompt }
            if let client {
                switch await client.countTokens(options.request(prompt: prompt)) {
                case .success(let n): tokens += n
                case .failure(let error): throw SluiceError(.failure, "countTokens for record \(record.number): \(error)")
                }
            } else {
                tokens += (prompt.unicodeScalars.count + 3) / 4 + systemTokens
            }
            records += 1
        }
        return (records, tokens, first)
    }

    static func report(_ options: RunOptions, records: Int, tokens: Int, first: String?, outputPerRecord: Int) {
        let usage = TokenUsage(input: tokens, output: records * outputPerRecord)
        var text = "sluice: dry run of \(options.inputPath): \(records) records, \(options.countTokens ? "" : "≈")\(tokens) input tokens (\(options.countTokens ? "counted by :countTokens" : "characters / 4")); nothing generated\n"
        if let flex = PriceTable.cost(model: options.model, tier: .flex, usage: usage), let standard = PriceTable.cost(model: options.model, tier: .standard, usage: usage) {
            text += "sluice: expected cost at \(options.model), assuming \(outputPerRecord) output+thinking tokens per record: \(RunReport.dollars(flex)) at flex, \(RunReport.dollars(standard)) at standard\n"
        } else {
            text += "sluice: \(options.model) is not in the price table; no cost estimate\n"
        }
        if let first { text += "sluice: first prompt:\n\(first)\n" }
        FileHandle.standardError.write(Data(text.utf8))
    }
}
