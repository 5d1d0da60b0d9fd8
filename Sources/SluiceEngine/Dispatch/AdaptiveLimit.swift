/// Loss-based AIMD for the number of requests in flight: slow start (one more per answer, so it
/// doubles each round trip) until the first overload, then additive increase; multiplicative
/// decrease on 503/429 at most once per window; between a floor and a ceiling. Latency alone
/// never shrinks it: Flex queues on purpose, and a slow answer is not a loss. Starting below the
/// ceiling avoids a burst of shed requests when the service's capacity is far below it.
public struct AdaptiveLimit: Sendable, Equatable {
    public var floor: Int
    public var ceiling: Int
    /// Fraction kept on a decrease.
    public var backoff: Double = 0.75
    /// Seconds during which further overload signals do not decrease again (they are the same
    /// congestion event seen by requests already in flight).
    public var window: Double
    /// Added per round trip's worth of answers (increase per answer = `increase / limit`).
    public var increase: Double = 1

    public private(set) var value: Double
    /// True until the first overload signal.
    public private(set) var slowStart = true
    private var lastDecrease: Double = -.infinity

    /// Starts at `initial`, by default 16 (or the floor or ceiling if that is outside them).
    public init(floor: Int, ceiling: Int, window: Double, initial: Int? = nil) {
        self.floor = max(1, min(floor, ceiling))
        self.ceiling = max(1, ceiling)
        self.window = window
        value = Double(max(self.floor, min(self.ceiling, initial ?? 16)))
    }

    /// The limit now, rounded down.
    public var current: Int { max(floor, min(ceiling, Int(value))) }

    public mutating func onAnswer() {
        value = min(Double(ceiling), value + (slowStart ? 1 : increase / max(1, value)))
    }

    /// A 503 or 429 at time `now` (seconds), with `inFlight` requests still on the wire; true
    /// when the limit went down. The decrease starts from what was really on the wire: a limit
    /// far above the load it allowed says nothing about capacity.
    @discardableResult
    public mutating func onOverload(now: Double, inFlight: Int? = nil) -> Bool {
        guard now - lastDecrease >= window else { return false }
        lastDecrease = now
        slowStart = false
        let base = inFlight.map { min(value, Double($0)) } ?? value
        value = max(Double(floor), base * backoff)
        return true
    }
}
