import SluiceEngine

/// What `sluice run --dry-run` prints on standard error.
enum DryRunText {
    static func render(_ e: DryRun.Estimate, options: JobConfiguration) -> String {
        var text = "sluice: dry run of \(options.input.path): \(e.records) records, \(e.counted ? "" : "≈")\(e.inputTokens) input tokens "
            + "(\(e.counted ? "counted by :countTokens" : "characters / 4")); nothing generated\n"
        if options.prompt.pack > 1, e.requests < e.records {
            text += "sluice: packed \(options.prompt.pack == PackLayout.autoRecords && options.prompt.packTokens != nil ? "by --pack-tokens \(options.prompt.packTokens!)" : "up to \(options.prompt.pack) records") per request: "
                + "≈\(e.requests) requests (\(e.records) one by one), ≈\(e.inputTokens) input tokens (\(e.unpackedInputTokens) one by one)\n"
        }
        if let flex = e.flexCost, let standard = e.standardCost {
            text += "sluice: expected cost at \(options.prompt.model), assuming \(e.outputPerRecord) output+thinking tokens per record: "
                + "\(RunReport.dollars(flex)) at flex, \(RunReport.dollars(standard)) at standard"
                + (e.records > 0 ? String(format: " ($%.4f per 1,000 records at flex)", flex / Double(e.records) * 1000) : "") + "\n"
        } else {
            text += "sluice: \(options.prompt.model) is not in the price table; no cost estimate\n"
        }
        if let first = e.firstPrompt { text += "sluice: first prompt:\n\(first)\n" }
        if e.badRecords > 0 { text += "sluice: \(e.badRecords) bad record(s) skipped\(e.badRecordsPath.map { ", listed in \($0)" } ?? "")\n" }
        if let path = e.previewPath { text += "sluice: prompts written to \(path == "-" ? "standard output" : path) (column \(DryRun.promptColumn))\n" }
        return text
    }
}
