/// Every knob of the simulator. Defaults model the Flex tier as documented (answers in 1–15
/// minutes, shed with 503 when its queue is full); tests shrink the clock with `timeScale`,
/// which scales every duration of the service alike — latencies, rate windows, the quota day,
/// the capacity schedule — so a scaled run keeps real ratios. (With `timeScale` 0 latencies
/// vanish and the windows stay as given.)
public struct SimulatorConfiguration: Sendable {
    /// API keys accepted; any other key gets each surface's "invalid key" error.
    public var apiKeys: Set<String> = ["sim-test-key"]
    /// Accept any non-empty key (a missing key is still refused).
    public var acceptAnyKey = false
    /// Seeds fault draws and latencies. The same seed, prompt and attempt give the same outcome.
    public var seed: UInt64 = 1
    /// Multiplies every simulated duration: 0.001 turns Flex minutes into fractions of a second.
    public var timeScale: Double = 1
    /// Flex capacity over time (evicting requests in service when it drops); nil: constant.
    public var flexCapacitySchedule: CapacitySchedule? = nil
    public var flex = TierModel(capacity: 64, queueLimit: 10_000, latency: .init(minimum: 60, median: 180, maximum: 900))
    public var standard = TierModel(capacity: 256, queueLimit: 1_000, latency: .init(minimum: 1, median: 4, maximum: 30))
    public var priority = TierModel(capacity: 32, queueLimit: 0, latency: .init(minimum: 0.5, median: 2, maximum: 10))
    public var rateLimits = RateLimits()
    public var faults: [FaultRule] = []
    /// Per-request decode limit in output tokens: longer Interactions answers come back in
    /// `requires_continuation` hops. `nil`: no limit.
    public var decodeLimitTokens: Int? = nil
    /// Models answered with 404 "no longer available to new users".
    public var retiredModels: Set<String> = []
    /// The retry delay advertised on injected 429s, in seconds (real time, not scaled).
    public var faultRetryDelay: Double = 1
    /// Delay before the first byte for the `slow` fault, in seconds (real time, not scaled).
    public var slowFirstByteSeconds: Double = 5
    /// Add a `Retry-After` header to Interactions 429s (whether the real service sends one is
    /// not known; off by default).
    public var interactionsRetryAfter = false
    /// How many recent requests `GET /_sim/requests` keeps (with bodies when `captureBodies`).
    public var eventLogLimit = 10_000
    public var captureBodies = true
    /// Hold every model request until this many have arrived, then serve them all (each still
    /// goes after `arrivalHoldTimeout` seconds, real time). For transport tests: it puts a known
    /// number of requests in flight at once on a machine of any speed. `nil`: no hold.
    public var holdUntilArrivals: Int? = nil
    public var arrivalHoldTimeout: Double = 300

    /// Batch API: seconds a new batch stays pending, then its turnaround (from creation to
    /// results) drawn per batch. Both in service seconds, scaled by `timeScale`. The real
    /// service targets 24 hours and usually does better.
    public var batchPendingSeconds: Double = 60
    public var batchLatency = LatencyDistribution(minimum: 600, median: 3_600, maximum: 86_400)
    /// Input tokens of all pending and running batches (per model) beyond which a create is
    /// refused with 429 (3 M: Tier 1 for the Flash models). `nil`: no cap.
    public var batchEnqueuedTokenCap: Int? = 3_000_000
    /// Live batches allowed at once (the documented 100).
    public var maxLiveBatches = 100
    /// The first N batches created end EXPIRED, the next M FAILED, without results.
    public var batchExpireFirst = 0
    public var batchFailFirst = 0
    /// The first N upload chunk requests are answered 503 without `x-goog-upload-status`.
    public var uploadChunkFaults = 0
    /// How long uploaded files are kept (48 h), in service seconds.
    public var fileExpirySeconds: Double = 48 * 3_600

    public init() {}

    public func model(for tier: ServiceTier) -> TierModel {
        switch tier {
        case .flex: flex
        case .standard: standard
        case .priority: priority
        }
    }

    /// Capacity and queue of one service tier.
    public struct TierModel: Sendable, Equatable {
        /// Requests served at once.
        public var capacity: Int
        /// Requests waiting for a slot; one more is shed with 503.
        public var queueLimit: Int
        /// Service time of one request, before `timeScale`.
        public var latency: LatencyDistribution

        public init(capacity: Int, queueLimit: Int, latency: LatencyDistribution) {
            self.capacity = capacity
            self.queueLimit = queueLimit
            self.latency = latency
        }
    }

    /// Per-project limits, counted over fixed windows from the simulator's start. The window
    /// and the day are service seconds, scaled by `timeScale` (when it is above 0).
    public struct RateLimits: Sendable, Equatable {
        /// Requests per window (a minute by default); over it → retryable 429.
        public var rpm: Int? = nil
        /// Input tokens per window; over it → retryable 429.
        public var tpm: Int? = nil
        /// Requests per day; over it → the daily-quota 429 that must not be retried.
        public var rpd: Int? = nil
        /// Length of the "minute" window in service seconds.
        public var window: Double = 60
        /// Length of the "day" in service seconds.
        public var day: Double = 86_400

        /// These limits with the window and the day scaled (0: unscaled).
        func scaled(by scale: Double) -> RateLimits {
            guard scale > 0 else { return self }
            var r = self
            r.window *= scale
            r.day *= scale
            return r
        }

        public init() {}
    }
}

/// A service-time distribution: exponential above `minimum` with the given `median`, capped at `maximum`.
public struct LatencyDistribution: Sendable, Equatable {
    public var minimum: Double
    public var median: Double
    public var maximum: Double

    public init(minimum: Double, median: Double, maximum: Double) {
        self.minimum = minimum
        self.median = max(median, minimum)
        self.maximum = max(maximum, self.median)
    }

    public static let zero = LatencyDistribution(minimum: 0, median: 0, maximum: 0)

    /// Maps a uniform draw in [0, 1) to seconds.
    public func seconds(uniform u: Double) -> Double {
        let spread = median - minimum
        guard spread > 0 else { return minimum }
        let value = minimum + spread * (-Foundation.log(1 - u) / Foundation.log(2.0))
        return Swift.min(value, maximum)
    }
}

import Foundation
