import SluiceModel

/// How the dispatcher spends requests, time and money. Defaults suit Flex.
public struct DispatchPolicy: Sendable, Equatable {
    public var retry = RetryPolicy()
    /// Most seconds a record may spend from its first attempt; past it the record is left for
    /// a later run (exit 75), or falls back when a fallback tier is set.
    public var maxWait: Double? = nil
    /// Opt-in: after `fallbackAfterShed` shed attempts (or the wait budget), send at this tier.
    public var fallbackTier: ServiceTier? = nil
    public var fallbackAfterShed = 3
    public var requestsPerMinute: Int? = nil
    public var tokensPerMinute: Int? = nil
    /// Retries at most this fraction of the last minute's requests (plus `retryBudgetMinimum`).
    public var retryBudgetRatio = 0.5
    public var retryBudgetMinimum = 20
    /// Floor of the adaptive in-flight limit; its ceiling is the job's concurrency.
    public var minConcurrency = 4
    /// Seconds within which further overload signals count as the same event: about the round
    /// trip of a shed request (503s come back fast even when answers take minutes).
    public var overloadWindow = 1.0
    /// Stop (resumably) before spending more than this many USD.
    public var maxCost: Double? = nil
    /// Send identical rendered prompts once and share the answer.
    public var dedupe = true

    public init() {}
}
