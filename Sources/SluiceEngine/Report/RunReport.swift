import Foundation
import SluiceModel
import SluiceJSON

/// Renders a run: the summary lines and the JSON report (both from one `RunSummary`), the
/// progress line, money and durations.
public enum RunReport {
    /// The lines printed when a run ends.
    public static func text(_ s: RunSummary) -> String {
        let c = s.counters
        let j = s.journal
        var lines: [String] = []
        var records = "records: \(j.done) enriched, \(j.failed) failed"
        if c.alreadyDone > 0 { records += " (\(c.alreadyDone) already journaled, not sent again)" }
        if c.badRecords > 0 { records += "; \(c.badRecords) bad record(s) skipped\(s.badRecordsPath.map { ", listed in \($0)" } ?? "")" }
        lines.append(records)
        lines.append("requests this run: \(c.requests) (\(c.retries) retries: \(c.shed) shed, \(c.rateLimited) rate-limited)\(c.dedupeSaved > 0 ? "; \(c.dedupeSaved) calls saved by sharing identical prompts" : "")")
        if c.packs > 0 {
            lines.append(String(format: "packs: %d requests carried %d records (%.1f per request); %d sent again (left out, spoiled, or their pack failed)",
                                c.packs, c.packedRecords, Double(c.packedRecords) / Double(c.packs), c.resentItems))
        }
        if c.fallbacks > 0 { lines.append("fallback: \(c.fallbacks) record(s) answered at a fallback tier after Flex shed them (billed at that tier's price)") }
        let u = c.usage
        lines.append("tokens this run: \(u.input) in\(u.cached > 0 ? " (\(u.cached) cached)" : "") · \(u.output) out · \(u.thought) thinking")
        if s.costKnown, let standard = s.costAtStandard {
            let billed = s.bills.compactMap { b in b.cost.map { "\(b.tier.rawValue) \(dollars($0))" } }
            lines.append("cost this run: \(dollars(s.cost))\(billed.isEmpty ? "" : " (\(billed.joined(separator: ", ")))"); at standard price: \(dollars(standard))")
        } else {
            lines.append("cost: \(s.model) is not in the price table")
        }
        if let p50 = s.latencyP50, let p90 = s.latencyP90, let max = s.latencyMax {
            lines.append(String(format: "answer latency: p50 %.1f s · p90 %.1f s · max %.1f s", p50, p90, max))
        }
        lines.append("wall time: \(duration(s.elapsed))")
        if let path = s.outputPath { lines.append("output: \(path == "-" ? "standard output" : path)") }
        return lines.map { "sluice: " + $0 }.joined(separator: "\n")
    }

    /// The JSON report: counts, tokens and cost per tier billed, latency percentiles.
    public static func json(_ s: RunSummary, exitCode: Int32) -> JSONValue {
        let c = s.counters
        var byTier = JSONObject()
        for b in s.bills {
            byTier[b.tier.rawValue] = [
                "answers": JSONValue(b.answers), "input_tokens": JSONValue(b.usage.input),
                "output_tokens": JSONValue(b.usage.output), "thought_tokens": JSONValue(b.usage.thought),
                "cost_usd": b.cost.map { JSONValue($0) } ?? .null,
            ]
        }
        func number(_ x: Double?) -> JSONValue { x.map { JSONValue($0) } ?? .null }
        return [
            "exit_code": JSONValue(Int(exitCode)),
            "model": .string(s.model), "tier": .string(s.tier.rawValue),
            "records": [
                "done": JSONValue(s.journal.done), "failed": JSONValue(s.journal.failed),
                "already_journaled": JSONValue(c.alreadyDone), "pending": JSONValue(s.journal.inFlight),
                "bad_skipped": JSONValue(c.badRecords),
            ],
            "bad_records_file": s.badRecordsPath.map(JSONValue.string) ?? .null,
            "requests": JSONValue(c.requests), "retries": JSONValue(c.retries), "shed": JSONValue(c.shed),
            "rate_limited": JSONValue(c.rateLimited), "dedupe_calls_saved": JSONValue(c.dedupeSaved),
            "fallback_answers": JSONValue(c.fallbacks), "wait_budget_exceeded": JSONValue(c.waitBudgetExceeded),
            "packs": ["requests": JSONValue(c.packs), "records": JSONValue(c.packedRecords), "resent_items": JSONValue(c.resentItems),
                      "requests_saved": JSONValue(max(0, c.packedRecords - c.packs)),
                      "input_tokens_one_by_one_estimate": JSONValue(c.packedOneByOneInput)],
            "tokens": ["input": JSONValue(c.usage.input), "cached": JSONValue(c.usage.cached), "output": JSONValue(c.usage.output), "thought": JSONValue(c.usage.thought)],
            "by_tier": .object(byTier),
            "cost_usd": JSONValue(s.cost),
            // Per record answered this run: what packing (and dedupe) change.
            "cost_per_1000_records_usd": c.done > 0 ? JSONValue(s.cost / Double(c.done) * 1000) : .null,
            "input_tokens_per_record": c.done > 0 ? JSONValue(Double(c.usage.input) / Double(c.done)) : .null,
            "cost_at_standard_usd": number(s.costAtStandard),
            "latency_seconds": ["p50": number(s.latencyP50), "p90": number(s.latencyP90), "p99": number(s.latencyP99), "max": number(s.latencyMax)],
            "final_concurrency_limit": JSONValue(c.limit),
            "wall_seconds": JSONValue(s.elapsed),
            "output": s.outputPath.map { .string($0) } ?? .null,
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
