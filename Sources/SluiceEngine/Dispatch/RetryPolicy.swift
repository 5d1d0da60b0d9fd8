import SluiceModel

/// Exponential backoff with full jitter, at least the delay the service asked for, and a cap
/// on attempts. Pure: the caller supplies the random draw.
public struct RetryPolicy: Sendable, Equatable {
    public var baseDelay: Double = 2
    public var maxDelay: Double = 120
    public var maxAttempts = 10

    public init() {}

    /// Seconds to wait before attempt `attempt + 1`, or nil to give up.
    /// A rate-limit error that names no delay is retried no sooner than this: the window it hit
    /// has not reset within a sub-second jitter.
    public var rateLimitedFloor: Double = 2

    public func delay(afterAttempt attempt: Int, error: ModelError, uniform: Double) -> Double? {
        guard error.isRetryable, attempt < maxAttempts else { return nil }
        let ceiling = min(maxDelay, baseDelay * Double(1 << min(attempt - 1, 30)))
        let jittered = ceiling * uniform
        if error.kind == .rateLimited, error.retryAfter == nil { return max(jittered, rateLimitedFloor) }
        return max(jittered, error.retryAfter ?? 0)
    }
}
