/// Decides, deterministically, which fault (if any) an attempt gets: the `X-Sim-Fault` header
/// first, then a `sim-fault:KIND` or `sim-fault:KIND*N` marker in the prompt text, then the
/// configured rules. Draws depend on (seed, prompt, attempt), never on arrival order, so a
/// seeded soak replays the same way however requests interleave.
enum FaultPlan {
    static func fault(header: String?, prompt: String, rules: [FaultRule], seed: UInt64, promptHash: UInt64, attempt: Int) -> FaultKind? {
        if let header, let rule = FaultRule(parsing: header.trimmingCharacters(in: .whitespaces)), applies(rule, attempt: attempt, draw: 0) {
            return rule.kind
        }
        if let marker = prompt.range(of: "sim-fault:") {
            let spec = prompt[marker.upperBound...].prefix { !$0.isWhitespace && $0 != "]" && $0 != "," && $0 != ")" }
            if let rule = FaultRule(parsing: String(spec)), applies(rule, attempt: attempt, draw: 0) { return rule.kind }
        }
        for (index, rule) in rules.enumerated() {
            var rng = SplitMix64(seed: seed &* 0x2545_F491_4F6C_DD1D ^ promptHash ^ (UInt64(attempt) << 32 | UInt64(index)))
            if applies(rule, attempt: attempt, draw: rng.unit()) { return rule.kind }
        }
        return nil
    }

    static func applies(_ rule: FaultRule, attempt: Int, draw: Double) -> Bool {
        if let n = rule.firstAttempts { return attempt < n }
        return draw < rule.probability
    }
}

import Foundation
