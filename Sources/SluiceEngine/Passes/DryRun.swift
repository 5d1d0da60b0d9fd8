import Foundation
import Logging
import SluiceFormats
import SluiceModel

/// A dry run: renders every prompt and prices the job at flex and at standard without
/// generating anything. Input tokens are estimated (characters / 4), or counted exactly by the
/// client when it is given one; output is assumed at `max_output_tokens` (else 256). With an
/// output path, the output is written with each record's prompt in a `sluice_prompt` column: a
/// preview of what would be sent (and the read → render → write path the benchmarks time).
public enum DryRun {
    public static let promptColumn = "sluice_prompt"

    /// What the dry run found, for the CLI to print.
    public struct Estimate: Sendable {
        public var records = 0
        public var inputTokens = 0
        /// Whether `inputTokens` was counted by the provider (else estimated).
        public var counted = false
        /// Output plus thinking tokens assumed per record.
        public var outputPerRecord = 256
        public var flexCost: Double?
        public var standardCost: Double?
        public var firstPrompt: String?
        public var badRecords = 0
        /// The dead-letter file, when bad records were skipped into it.
        public var badRecordsPath: String?
        /// Where the prompts were written, when asked.
        public var previewPath: String?
        /// Requests it would take (packed: one per pack; else one per record, before dedupe).
        public var requests = 0
        /// With `--pack`: the input tokens one record per request would take (else equal).
        public var unpackedInputTokens = 0
    }

    /// Packs as pass 1 makes them (by count and token budget), counting requests and tokens.
    struct PackTally {
        let size: Int
        let budget: Int
        /// Tokens every pack pays once: system, shared part, items header.
        let perPack: Int
        var records = 0
        var tokens = 0
        var requests = 0
        var packedTokens = 0

        mutating func add(item: Int) {
            if records == 0 || records == size || tokens + item > budget {
                requests += 1
                packedTokens += perPack
                records = 0
                tokens = 0
            }
            records += 1
            tokens += item
            packedTokens += item
        }
    }

    /// `client`: counts each prompt's tokens exactly (nil: estimate).
    public static func run(_ options: JobConfiguration, client: (any ModelClient)? = nil, progressInterval: Double = 10,
                           warn: @escaping @Sendable (String) -> Void = { _ in }) async throws(EngineError) -> Estimate {
        let job = EnrichmentJob(options: options, logger: Logger(label: "sluice"), warn: warn)
        let (inputColumns, _) = try job.preflight()
        let input = try job.openInput(captureDocument: options.output.path != nil && options.input.format == .xml && options.output.format == .xml)
        let preview = try options.output.path.map { path throws(EngineError) in
            try job.makeOutput(path: path, reader: input.reader, columns: inputColumns + [promptColumn], newFields: [promptColumn])
        }
        let counters = job.counters
        counters.update { $0.writingPhase = "dry run, records rendered" }
        let reporter = ProgressReporter(counters: counters, interval: progressInterval)
        let progress = Task { await reporter.run() }
        var estimate = Estimate()
        estimate.counted = client != nil
        let systemTokens = options.prompt.system.map(TokenEstimate.tokens) ?? 0
        let shared = options.prompt.template.shared
        var tally = options.prompt.pack > 1 && client == nil
            ? PackTally(size: options.prompt.pack, budget: options.prompt.packTokens ?? .max,
                        perPack: systemTokens + TokenEstimate.tokens(shared + PackLayout.itemsHeader))
            : nil
        var pass = OutputPass(input: input, output: preview, limit: options.input.limit, counters: counters, logger: job.logger)
        pass.countsBadRecords = true
        let result: Result<Int, EngineError>
        do {
            result = .success(try await pass.run { record throws(EngineError) in
                let prompt = options.prompt.template.render(record)
                if estimate.firstPrompt == nil { estimate.firstPrompt = prompt }
                if let client {
                    switch await client.countTokens(options.prompt.request(prompt)) {
                    case .success(let n)?: estimate.inputTokens += n
                    case .failure(let error)?: throw EngineError(.failure, "countTokens for record \(record.number): \(error)")
                    case nil: throw EngineError(.usage, "this provider cannot count tokens exactly")
                    }
                } else {
                    estimate.inputTokens += TokenEstimate.tokens(prompt) + systemTokens
                }
                tally?.add(item: PackLayout.estimatedTokens(item: String(decoding: prompt.utf8.dropFirst(shared.utf8.count), as: UTF8.self)))
                var fields = record.fields
                fields[promptColumn] = .string(prompt)
                return fields
            })
        } catch {
            result = .failure(error)
        }
        progress.cancel()
        await progress.value
        do {
            estimate.records = try result.get()
            try preview?.commit()
        } catch {
            preview?.discard()
            throw error
        }
        estimate.unpackedInputTokens = estimate.inputTokens
        estimate.requests = estimate.records
        if let tally {
            estimate.requests = tally.requests
            estimate.inputTokens = tally.packedTokens
        }
        estimate.outputPerRecord = options.prompt.maxOutputTokens ?? 256
        let usage = TokenUsage(input: estimate.inputTokens, output: estimate.records * estimate.outputPerRecord)
        estimate.flexCost = options.prices.cost(model: options.prompt.model, tier: .flex, usage: usage)
        estimate.standardCost = options.prices.cost(model: options.prompt.model, tier: .standard, usage: usage)
        estimate.badRecords = counters.snapshot.badRecords
        if estimate.badRecords > 0, let preview { estimate.badRecordsPath = preview.deadLetters.path }
        estimate.previewPath = options.output.path
        return estimate
    }
}
