import SluiceModel

/// How the dispatcher spends requests, time and money. Defaults suit Flex.
public struct DispatchPolicy: Sendable, Equatable {
    public var retry = RetryPolicy()
    /// Most seconds a record may spend from its first attempt; past it the record is left for
    /// a later run (exit 75), or falls back when a fallback tier is set. Sheds and rate limits
    /// are retried until then (they do not count toward the attempt cap): six hours rides out a
    /// Flex capacity drought of hours, and still ends a nightly run the same night.
    public var maxWait: Double? = 6 * 3600
    /// Opt-in: after `fallbackAfterShed` shed attempts (or the wait budget), send at this tier.
    public var fallbackTier: ServiceTier? = nil
    public var fallbackAfterShed = 3
    public var requestsPerMinute: Int? = nil
    public var tokensPerMinute: Int? = nil
    /// Retries at most this fraction of the last minute's requests (plus `retryBudgetMinimum`).
    public var retryBudgetRatio = 0.5
    public var retryBudgetMinimum = 20
    /// Floor of the capacity limit on requests in flight; its ceiling is the job's concurrency.
    public var minConcurrency = 4
    /// Bytes the records in process may take (bounds how many are in flight).
    public var memoryBudget = 1 << 30
    /// Multiplies every time constant of the dispatcher (the quota minute, the capacity
    /// controller's clock): a benchmark that scales Flex latencies and the service's rate
    /// windows by s runs the client at the same s. 1 in production. See `scaled(by:)`.
    public private(set) var timeScale = 1.0
    /// Stop (resumably) before spending more than this many USD.
    public var maxCost: Double? = nil
    /// Send identical rendered prompts once and share the answer.
    public var dedupe = true

    public init() {}

    /// This policy with every duration multiplied by `scale` (the retry delays and wait budget
    /// too), so that every ratio of a scaled-down run stays what it is in real time.
    public func scaled(by scale: Double) -> DispatchPolicy {
        var p = self
        p.timeScale = timeScale * scale
        p.retry.baseDelay *= scale
        p.retry.maxDelay *= scale
        p.retry.rateLimitedFloor *= scale
        p.maxWait = maxWait.map { $0 * scale }
        return p
    }

    /// Seconds in a quota "minute".
    public var minute: Double { 60 * timeScale }
}
