import Foundation

/// The in-flight limit that Flex's capacity allows, from its one signal: shedding (503s and
/// evictions). It grows on a time basis, never per round trip — Flex round trips take minutes
/// while a shed comes back in milliseconds, so the signal is fast even when answers are slow:
/// exponentially at first (doubling every 2 s: 16 to 16,000 in 20 s, a tenth of a Flex
/// median); after a decrease, back to the level it fell from within `recovery`
/// seconds (CUBIC's concave curve), then exponentially again. A decrease needs overload, not a
/// stray 503: sheds must be dense (`SignalShare`), so a few percent of random 503s never move it. It grows only while
/// it is the binding limit, so a job paced by its quota does not carry a limit that nothing
/// has tested. Pure: callers pass the clock (seconds).
public struct CapacityController: Sendable, Equatable {
    public var floor: Int
    public var ceiling: Int
    /// Fraction of the in-flight count kept on a decrease.
    public var backoff = 0.7
    /// Seconds per doubling while growing exponentially.
    public var doubling: Double
    /// Seconds after a decrease to grow back to the level it fell from.
    public var recovery: Double
    /// Seconds over which sheds are weighed against all responses; also the least time
    /// between decreases.
    public let window: Double

    enum Phase: Sendable, Equatable {
        case exponential
        /// Growing back to `from` along a concave cubic since `since`.
        case recovering(since: Double, from: Double)
    }

    public private(set) var value: Double
    private(set) var phase = Phase.exponential
    private var lastDecrease = -Double.infinity
    private var lastTick: Double
    private var sheds: SignalShare

    public init(floor: Int, ceiling: Int, initial: Int = 16, now: Double = 0) {
        self.floor = max(1, min(floor, ceiling))
        self.ceiling = max(1, ceiling)
        doubling = 2
        recovery = 10
        window = 2
        value = Double(max(self.floor, min(self.ceiling, initial)))
        lastTick = now
        sheds = SignalShare(window: window)
    }

    /// The limit now, rounded down.
    public var current: Int { max(floor, min(ceiling, Int(value))) }

    /// Grows the limit for the time since the last tick, if it was binding: `inFlight` (on
    /// the wire, plus any waiting for a permit) at least `current` - a few.
    public mutating func tick(now: Double, demand: Int) {
        let dt = max(0, now - lastTick)
        lastTick = now
        guard dt > 0, Double(demand) >= value * 0.9 else { return }
        switch phase {
        case .exponential:
            value *= exp2(dt / doubling)
        case .recovering(let since, let from):
            let t = now - since
            if t >= recovery {
                phase = .exponential
                value = max(value, from)
            } else {
                // W(t) = from·(1 − (1 − β)·(1 − t/K)³): β·from at t = 0, from at t = K.
                let r = 1 - t / recovery
                value = max(value, from * (1 - (1 - backoff) * r * r * r))
            }
        }
        value = min(value, Double(ceiling))
    }

    /// A request goes on the wire.
    public mutating func sent(now: Double) { sheds.sent(now: now) }

    /// A request was shed (503, or evicted while in service) with `inFlight` requests on the
    /// wire. True when the limit went down.
    @discardableResult
    public mutating func shed(now: Double, inFlight: Int) -> Bool {
        sheds.signal(now: now)
        guard sheds.dense(now: now), now - lastDecrease >= window else { return false }
        lastDecrease = now
        // A limit far above the load it allowed says nothing about capacity: start from the load.
        let from = min(value, Double(max(inFlight, 1)))
        value = max(Double(floor), from * backoff)
        phase = .recovering(since: now, from: from)
        return true
    }
}
