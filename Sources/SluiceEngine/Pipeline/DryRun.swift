import Foundation
import SluiceFormats
import SluiceModel

/// `--dry-run`: renders every prompt and prices the job at flex and at standard without
/// generating anything. Input tokens are estimated (characters / 4), or counted exactly by the
/// `:countTokens` API with `--count-tokens`; output is assumed at `max_output_tokens` (else 256).
/// With `-o`, the output is written with each record's prompt in a `sluice_prompt` column: a
/// preview of what would be sent (and the read → render → write path the benchmarks time).
public enum DryRun {
    public static let promptColumn = "sluice_prompt"

    /// `client`: with `countTokens`, the client that counts (nil: estimate).
    public static func run(_ options: RunOptions, client: (any ModelClient)? = nil, progressInterval: Double = 10) async throws(EngineError) -> Int32 {
        let job = EnrichmentJob(options: options, logger: .init(label: "sluice"))
        let (inputColumns, _) = try job.preflight()
        let input = try job.openInput(captureDocument: options.outputPath != nil && options.inputFormat == .xml && options.outputFormat == .xml)
        let preview = options.outputPath == nil ? nil
            : try OutputFile(job: job, reader: input.reader, columns: inputColumns + [promptColumn], newFields: [promptColumn])
        let counted: Result<(Int, Int, String?), EngineError>
        let counters = job.counters
        counters.update {
            $0.written = 0
            $0.writingPhase = "dry run, records rendered"
        }
        let reporter = ProgressReporter(counters: counters, interval: progressInterval)
        let progress = Task { await reporter.run() }
        do {
            counted = .success(try await tally(options, input: input, client: client, preview: preview, counters: counters))
        } catch {
            counted = .failure(error)
        }
        progress.cancel()
        await progress.value
        let (records, tokens, first) = try counted.get()
        try preview?.commit()
        report(options, records: records, tokens: tokens, first: first, outputPerRecord: options.maxOutputTokens ?? 256)
        let bad = counters.snapshot.badRecords
        if bad > 0 {
            FileHandle.standardError.write(Data("sluice: \(bad) bad record(s) skipped\(preview.map { ", listed in \($0.deadLetters.path)" } ?? "")\n".utf8))
        }
        if let path = options.outputPath { FileHandle.standardError.write(Data("sluice: prompts written to \(path == "-" ? "standard output" : path) (column \(promptColumn))\n".utf8)) }
        return 0
    }

    /// Renders every prompt and adds up its input tokens: (records, tokens, first prompt).
    static func tally(_ options: RunOptions, input: RecordInput, client: (any ModelClient)?, preview: OutputFile?, counters: RunCounters) async throws(EngineError) -> (Int, Int, String?) {
        var records = 0
        var tokens = 0
        var first: String?
        let systemTokens = options.system.map(TokenEstimate.tokens) ?? 0
        while true {
            let next: RecordInput.Entry?
            do { next = try input.next() } catch { throw EngineError(error) }
            guard let entry = next else { break }
            if let limit = options.limit, entry.number > limit {
                if let preview, preview.needsWholeInput { preview.writer.skip(); continue }
                break
            }
            guard case .record(let record) = entry else {
                if case .bad(let error) = entry {
                    counters.update { $0.badRecords += 1 }
                    if let preview {
                        try preview.reject(error)
                    } else {
                        FileHandle.standardError.write(Data("sluice: skipping bad record: \(error)\n".utf8))
                    }
                }
                continue
            }
            let prompt = options.template.render(record)
            if let preview {
                var fields = record.fields
                fields[promptColumn] = .string(prompt)
                try preview.write(fields)
            }
            if first == nil { first = prompt }
            if let client {
                switch await client.countTokens(options.request(prompt: prompt)) {
                case .success(let n)?: tokens += n
                case .failure(let error)?: throw EngineError(.failure, "countTokens for record \(record.number): \(error)")
                case nil: throw EngineError(.usage, "this provider cannot count tokens exactly")
                }
            } else {
                tokens += TokenEstimate.tokens(prompt) + systemTokens
            }
            records += 1
            if records & 4095 == 0 {
                let n = records
                counters.update { $0.written = n }
            }
        }
        return (records, tokens, first)
    }

    static func report(_ options: RunOptions, records: Int, tokens: Int, first: String?, outputPerRecord: Int) {
        let usage = TokenUsage(input: tokens, output: records * outputPerRecord)
        var text = "sluice: dry run of \(options.inputPath): \(records) records, \(options.countTokens ? "" : "≈")\(tokens) input tokens (\(options.countTokens ? "counted by :countTokens" : "characters / 4")); nothing generated\n"
        if let flex = options.prices.cost(model: options.model, tier: .flex, usage: usage), let standard = options.prices.cost(model: options.model, tier: .standard, usage: usage) {
            text += "sluice: expected cost at \(options.model), assuming \(outputPerRecord) output+thinking tokens per record: \(RunReport.dollars(flex)) at flex, \(RunReport.dollars(standard)) at standard\n"
        } else {
            text += "sluice: \(options.model) is not in the price table; no cost estimate\n"
        }
        if let first { text += "sluice: first prompt:\n\(first)\n" }
        FileHandle.standardError.write(Data(text.utf8))
    }
}
