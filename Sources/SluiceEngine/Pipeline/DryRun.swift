import Foundation
import SluiceFormats
import SluiceGemini

/// `--dry-run`: renders every prompt and estimates input tokens (≈ characters / 4) and their
/// cost at flex and at standard price; sends nothing.
public enum DryRun {
    public static func run(_ options: RunOptions) throws(SluiceError) -> Int32 {
        let job = EnrichmentJob(options: options, logger: .init(label: "sluice"))
        _ = try job.preflight()
        let reader = try job.openReader()
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
            tokens += (prompt.unicodeScalars.count + 3) / 4 + systemTokens
            records += 1
        }
        let usage = TokenUsage(input: tokens)
        let flex = PriceTable.cost(model: options.model, tier: .flex, usage: usage)
        let standard = PriceTable.cost(model: options.model, tier: .standard, usage: usage)
        var text = "sluice: dry run of \(options.inputPath): \(records) records, ≈\(tokens) input tokens (characters / 4), nothing sent\n"
        if let flex, let standard {
            text += "sluice: input cost at \(options.model): \(RunReport.dollars(flex)) at flex, \(RunReport.dollars(standard)) at standard (output and thinking tokens come on top)\n"
        }
        if let first { text += "sluice: first prompt:\n\(first)\n" }
        FileHandle.standardError.write(Data(text.utf8))
        return 0
    }
}
