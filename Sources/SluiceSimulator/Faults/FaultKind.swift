/// A fault the simulator can inject instead of (or on the way to) a normal answer.
public enum FaultKind: String, Sendable, CaseIterable {
    case http500 = "500"
    case http503 = "503"
    case http504 = "504"
    /// Per-minute rate limit: retryable, with `RetryInfo.retryDelay`.
    case http429 = "429"
    /// Daily quota exhausted: 429 that must not be retried before the reset.
    case quota
    /// "Prepayment credits are depleted": 429 without details, not retryable.
    case billing
    /// The connection closes after the service time, before any response byte.
    case drop
    /// The response head promises the full body; the connection closes half way through it.
    case truncate
    /// The first byte waits `slowFirstByteSeconds`.
    case slow
    /// Flex eviction: the request is dropped with 503 after half its service time in service
    /// (standard traffic took its slot), billed nothing.
    case evict
    /// Interactions: the answer comes in two `requires_continuation` hops.
    case continuation
    /// The answer is cut at a few tokens: `incomplete` / `MAX_TOKENS`.
    case maxTokens = "max_tokens"
    /// The candidate is blocked: `finishReason: SAFETY` (Interactions: a model_output error).
    case safety
    /// The prompt is blocked: `promptFeedback.blockReason` with no candidates.
    case promptBlocked = "prompt_blocked"
    /// Packed requests only (`PackedAnswer`): an item left out, an id answered twice, the items
    /// in reverse order, an item whose answer breaks its schema.
    case packDrop = "pack_drop"
    case packDuplicate = "pack_duplicate"
    case packReorder = "pack_reorder"
    case packInvalid = "pack_invalid"

    /// Faults that replace the answer with an HTTP error, decided before queueing.
    public var isErrorResponse: Bool {
        switch self {
        case .http500, .http503, .http504, .http429, .quota, .billing: true
        default: false
        }
    }
}

/// When to inject a fault: with a probability per attempt, or on the first N attempts of every prompt.
public struct FaultRule: Sendable, Equatable, CustomStringConvertible {
    public var kind: FaultKind
    public var probability: Double
    /// When set, the fault hits attempts 1…N of each prompt and never later ones.
    public var firstAttempts: Int?

    public init(kind: FaultKind, probability: Double = 1, firstAttempts: Int? = nil) {
        self.kind = kind
        self.probability = probability
        self.firstAttempts = firstAttempts
    }

    /// Parses `KIND=P` (probability per attempt), `KIND*N` (first N attempts of each prompt) or `KIND`.
    public init?(parsing text: String) {
        if let eq = text.firstIndex(of: "=") {
            guard let kind = FaultKind(rawValue: String(text[..<eq])),
                let p = Double(text[text.index(after: eq)...]), (0...1).contains(p)
            else { return nil }
            self.init(kind: kind, probability: p)
        } else if let star = text.firstIndex(of: "*") {
            guard let kind = FaultKind(rawValue: String(text[..<star])),
                let n = Int(text[text.index(after: star)...]), n >= 0
            else { return nil }
            self.init(kind: kind, firstAttempts: n)
        } else {
            guard let kind = FaultKind(rawValue: text) else { return nil }
            self.init(kind: kind)
        }
    }

    public var description: String {
        if let n = firstAttempts { return "\(kind.rawValue)*\(n)" }
        return probability == 1 ? kind.rawValue : "\(kind.rawValue)=\(probability)"
    }
}
