import SluiceModel

/// Exponential backoff with full jitter, at least the delay the service asked for, and a cap
/// on failed attempts. Pure: the caller supplies the random draw.
///
/// The cap counts faults only. A shed (503) or a rate limit (429) is the service saying "come
/// back later" about itself, not about the record: the capacity and rate controllers pace those
/// retries, and the wait budget (`DispatchPolicy.maxWait`) bounds them. Counted against the
/// attempts, a Flex job whose capacity dipped for a while failed records permanently.
public struct RetryPolicy: Sendable, Equatable {
    public var baseDelay: Double = 2
    public var maxDelay: Double = 120
    public var maxAttempts = 10

    public init() {}

    /// Seconds to wait before attempt `attempt + 1`, or nil to give up.
    /// A rate-limit error that names no delay is retried no sooner than this: the window it hit
    /// has not reset within a sub-second jitter.
    public var rateLimitedFloor: Double = 2

    /// Whether `error` counts toward `maxAttempts`.
    public static func counts(_ error: ModelError) -> Bool { error.kind != .shed && error.kind != .rateLimited }

    /// `attempt`: attempts sent so far (the backoff grows with them); `faults`: how many of
    /// their failures counted (the cap). Without `faults`, every attempt counts.
    public func delay(afterAttempt attempt: Int, faults: Int? = nil, error: ModelError, uniform: Double) -> Double? {
        guard error.isRetryable else { return nil }
        if Self.counts(error), (faults ?? attempt) >= maxAttempts { return nil }
        let ceiling = min(maxDelay, baseDelay * Double(1 << min(attempt - 1, 30)))
        let jittered = ceiling * uniform
        if error.kind == .rateLimited, error.retryAfter == nil { return max(jittered, rateLimitedFloor) }
        return max(jittered, error.retryAfter ?? 0)
    }
}
