@testable import SluiceEngine
import SluiceJournal
import SluiceModel
import Testing

/// The text summary and the JSON report render one `RunSummary`: same costs, same percentiles.
@Suite("Run summary")
struct RunSummaryTests {
    struct Prices: PriceBook {
        func cost(model: String, tier: ServiceTier, usage: TokenUsage) -> Double? {
            model == "m" ? Double(usage.input + usage.output + usage.thought) * (tier == .flex ? 0.5 : 1) / 1000 : nil
        }
    }

    func snapshot() -> RunCounters.Snapshot {
        var c = RunCounters.Snapshot()
        c.requests = 5
        c.usage = TokenUsage(input: 3000, output: 1000)
        c.usageByTier = [.flex: TokenUsage(input: 2000, output: 1000), .standard: TokenUsage(input: 1000)]
        c.answersByTier = [.flex: 3, .standard: 1]
        for seconds in [60.0, 120, 180, 240] { c.latency.record(seconds) }
        return c
    }

    @Test func textAndJSONAgree() {
        var journal = Journal.Summary()
        journal.done = 4
        let outcome = EnrichmentJob.Outcome(status: .complete, outputPath: "out.csv", journal: journal)
        let s = RunSummary(snapshot(), outcome: outcome, model: "m", tier: .flex, prices: Prices(), elapsed: 300)
        #expect(s.cost == 2.5 && s.costKnown && s.costAtStandard == 4)
        let text = RunReport.text(s)
        #expect(text.contains("cost this run: $2.50 (flex $1.50, standard $1.00); at standard price: $4.00"), "\(text)")
        // The median is the bucket's middle (within 1 %); the maximum is exact.
        #expect(text.contains("answer latency: p50 18") && text.contains(" · p90 240.0 s · max 240.0 s"), "\(text)")
        let json = RunReport.json(s, exitCode: 0)
        #expect(json["cost_usd"]?.doubleValue == 2.5)
        #expect(json["by_tier"]?["flex"]?["cost_usd"]?.doubleValue == 1.5)
        #expect(json["latency_seconds"]?["max"]?.doubleValue == 240)
        #expect(abs((json["latency_seconds"]?["p50"]?.doubleValue ?? 0) - 180) <= 1.8)
        #expect(json["records"]?["done"]?.intValue == 4)

        let unpriced = RunSummary(snapshot(), outcome: outcome, model: "other", tier: .flex, prices: Prices(), elapsed: 300)
        #expect(!unpriced.costKnown)
        #expect(RunReport.text(unpriced).contains("cost: other is not in the price table"))
    }
}
