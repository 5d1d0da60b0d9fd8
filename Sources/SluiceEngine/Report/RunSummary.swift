import SluiceJournal
import SluiceModel

/// What a finished run did, computed once from the counters, the journal and the price book:
/// the text summary and the JSON report both render this (and an HTML report will), so they
/// cannot disagree.
public struct RunSummary: Sendable {
    public struct TierBill: Sendable {
        public var tier: ServiceTier
        public var answers: Int
        public var usage: TokenUsage
        /// nil: the model is not in the price book.
        public var cost: Double?
    }

    public var model: String
    public var tier: ServiceTier
    public var counters: RunCounters.Snapshot
    public var journal: Journal.Summary
    /// Per tier that billed anything, by tier name.
    public var bills: [TierBill]
    /// The sum of `bills` (of the priced ones).
    public var cost: Double
    /// Whether every tier billed is priced.
    public var costKnown: Bool
    /// What this run's tokens would have cost at the standard tier.
    public var costAtStandard: Double?
    public var latencyP50, latencyP90, latencyP99, latencyMax: Double?
    public var elapsed: Double
    public var outputPath: String?
    public var badRecordsPath: String?

    public init(_ c: RunCounters.Snapshot, outcome: EnrichmentJob.Outcome, model: String, tier: ServiceTier, prices: any PriceBook, elapsed: Double) {
        self.model = model
        self.tier = tier
        counters = c
        journal = outcome.journal
        bills = c.usageByTier.sorted { $0.key.rawValue < $1.key.rawValue }.map { served, usage in
            TierBill(tier: served, answers: c.answersByTier[served] ?? 0, usage: usage, cost: prices.cost(model: model, tier: served, usage: usage))
        }
        cost = bills.compactMap(\.cost).reduce(0, +)
        costKnown = bills.allSatisfy { $0.cost != nil }
        costAtStandard = prices.cost(model: model, tier: .standard, usage: c.usage)
        latencyP50 = c.latency.percentile(0.5)
        latencyP90 = c.latency.percentile(0.9)
        latencyP99 = c.latency.percentile(0.99)
        latencyMax = c.latency.percentile(1.0)
        self.elapsed = elapsed
        outputPath = outcome.outputPath
        badRecordsPath = outcome.badRecordsPath
    }
}
