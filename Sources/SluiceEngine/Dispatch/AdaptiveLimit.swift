/// Loss-based AIMD for the number of records in flight: additive increase on every answer,
/// multiplicative decrease on 503/429 at most once per window, between a floor and a ceiling.
/// Latency alone never shrinks it: Flex queues on purpose, and a slow answer is not a loss.
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
    private var lastDecrease: Double = -.infinity

    public init(floor: Int, ceiling: Int, window: Double, initial: Int? = nil) {
        self.floor = max(1, min(floor, ceiling))
        self.ceiling = max(1, ceiling)
        self.window = window
        value = Double(initial ?? ceiling)
    }

    /// The limit now, rounded down.
    public var current: Int { max(floor, min(ceiling, Int(value))) }

    public mutating func onAnswer() {
        value = min(Double(ceiling), value + increase / max(1, value))
    }

    /// A 503 or 429 at time `now` (seconds), with `inFlight` requests still on the wire; true
    /// when the limit went down. The decrease starts from what was really on the wire: a limit
    /// far above the load it allowed says nothing about capacity.
    @discardableResult
    public mutating func onOverload(now: Double, inFlight: Int? = nil) -> Bool {
        guard now - lastDecrease >= window else { return false }
        lastDecrease = now
        let base = inFlight.map { min(value, Double($0)) } ?? value
        value = max(Double(floor), base * backoff)
        return true
    }
}
