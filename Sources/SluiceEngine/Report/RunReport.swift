import Foundation
import SluiceModel
import SluiceJSON

/// The human summary printed when a run ends: records, tokens, cost at the tier billed, time.
public enum RunReport {
    public static func summary(_ c: RunCounters.Snapshot, outcome: EnrichmentJob.Outcome, model: String, tier: ServiceTier, prices: any PriceBook, elapsed: Double) -> String {
        let j = outcome.journal
        var lines: [String] = []
        var records = "records: \(j.done) enriched, \(j.failed) failed"
        if c.alreadyDone > 0 { records += " (\(c.alreadyDone) already journaled, not sent again)" }
        if c.badRecords > 0 { records += "; \(c.badRecords) bad record(s) skipped\(outcome.badRecordsPath.map { ", listed in \($0)" } ?? "")" }
        lines.append(records)
        lines.append("requests this run: \(c.requests) (\(c.retries) retries: \(c.shed) shed, \(c.rateLimited) rate-limited)\(c.dedupeSaved > 0 ? "; \(c.dedupeSaved) calls saved by sharing identical prompts" : "")")
        if c.fallbacks > 0 { lines.append("fallback: \(c.fallbacks) record(s) answered at a fallback tier after Flex shed them (billed at that tier's price)") }
        let u = c.usage
        lines.append("tokens this run: \(u.input) in · \(u.output) out · \(u.thought) thinking")
        var billed: [String] = []
        var total = 0.0
        var known = true
        for (servedTier, usage) in c.usageByTier.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            if let cost = prices.cost(model: model, tier: servedTier, usage: usage) {
                total += cost
                billed.append("\(servedTier.rawValue) \(dollars(cost))")
            } else {
                known = false
            }
        }
        if known, let standard = prices.cost(model: model, tier: .standard, usage: u) {
            lines.append("cost this run: \(dollars(total))\(billed.isEmpty ? "" : " (\(billed.joined(separator: ", ")))"); at standard price: \(dollars(standard))")
        } else {
            lines.append("cost: \(model) is not in the price table")
        }
        if c.latency.count > 0 {
            func pct(_ p: Double) -> String { String(format: "%.1f s", c.latency.percentile(p) ?? 0) }
            lines.append("answer latency: p50 \(pct(0.5)) · p90 \(pct(0.9)) · max \(pct(1.0))")
        }
        lines.append("wall time: \(duration(elapsed))")
        if let path = outcome.outputPath { lines.append("output: \(path == "-" ? "standard output" : path)") }
        return lines.map { "sluice: " + $0 }.joined(separator: "\n")
    }

    /// The JSON report: counts, tokens and cost per tier billed, latency percentiles.
    public static func json(_ c: RunCounters.Snapshot, outcome: EnrichmentJob.Outcome, exitCode: Int32, model: String, tier: ServiceTier, prices: any PriceBook, elapsed: Double) -> JSONValue {
        var byTier = JSONObject()
        var total = 0.0
        for (servedTier, usage) in c.usageByTier.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            let cost = prices.cost(model: model, tier: servedTier, usage: usage)
            total += cost ?? 0
            byTier[servedTier.rawValue] = [
                "answers": JSONValue(c.answersByTier[servedTier] ?? 0), "input_tokens": JSONValue(usage.input),
                "output_tokens": JSONValue(usage.output), "thought_tokens": JSONValue(usage.thought),
                "cost_usd": cost.map { JSONValue($0) } ?? .null,
            ]
        }
        func pct(_ p: Double) -> JSONValue { c.latency.percentile(p).map { JSONValue($0) } ?? .null }
        return [
            "exit_code": JSONValue(Int(exitCode)),
            "model": .string(model), "tier": .string(tier.rawValue),
            "records": [
                "done": JSONValue(outcome.journal.done), "failed": JSONValue(outcome.journal.failed),
                "already_journaled": JSONValue(c.alreadyDone), "pending": JSONValue(outcome.journal.inFlight),
                "bad_skipped": JSONValue(c.badRecords),
            ],
            "bad_records_file": outcome.badRecordsPath.map(JSONValue.string) ?? .null,
            "requests": JSONValue(c.requests), "retries": JSONValue(c.retries), "shed": JSONValue(c.shed),
            "rate_limited": JSONValue(c.rateLimited), "dedupe_calls_saved": JSONValue(c.dedupeSaved),
            "fallback_answers": JSONValue(c.fallbacks), "wait_budget_exceeded": JSONValue(c.waitBudgetExceeded),
            "tokens": ["input": JSONValue(c.usage.input), "output": JSONValue(c.usage.output), "thought": JSONValue(c.usage.thought)],
            "by_tier": .object(byTier),
            "cost_usd": JSONValue(total),
            "cost_at_standard_usd": prices.cost(model: model, tier: .standard, usage: c.usage).map { JSONValue($0) } ?? .null,
            "latency_seconds": ["p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "max": pct(1.0)],
            "final_concurrency_limit": JSONValue(c.limit),
            "wall_seconds": JSONValue(elapsed),
            "output": outcome.outputPath.map { .string($0) } ?? .null,
        ]
    }

    public static func dollars(_ x: Double) -> String { x < 0.01 ? String(format: "$%.6f", x) : String(format: "$%.2f", x) }

    public static func duration(_ s: Double) -> String {
        if s < 60 { return String(format: "%.1f s", s) }
        let total = Int(s)
        return total < 3600 ? "\(total / 60)m \(total % 60)s" : "\(total / 3600)h \((total % 3600) / 60)m"
    }

    /// One progress line: done/total, in flight, retries, tokens, elapsed, ETA.
    public static func progressLine(_ c: RunCounters.Snapshot, elapsed: Double) -> String {
        if let written = c.written {
            return "\(c.writingPhase): \(written)\(c.total.map { "/\($0)" } ?? "") · \(duration(elapsed))"
        }
        let finished = c.done + c.failed
        var text = "\(finished + c.alreadyDone)"
        if let total = c.total { text += "/\(total)" }
        text += " records · \(c.inFlight) in flight (limit \(c.limit)) · \(c.retries) retries · \(c.failed) failed · \(c.usage.input + c.usage.output + c.usage.thought) tokens · \(duration(elapsed))"
        if let total = c.total, finished > 0 {
            let remaining = total - finished - c.alreadyDone
            text += " · ETA \(duration(elapsed / Double(finished) * Double(max(0, remaining))))"
        }
        return text
    }
}
