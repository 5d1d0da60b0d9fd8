/// Even pacing at a rate (GCRA, the "virtual scheduling" form of a token bucket): each
/// reservation gets the earliest time it may go, spaced `cost / rate` after the previous one,
/// with at most `burst` seconds of sends let through early. A reservation is a time, not a
/// poll: a waiter sleeps once until its slot. Pure; callers pass the clock.
public struct Pacer: Sendable, Equatable {
    /// Units (requests or tokens) per second.
    public private(set) var rate: Double
    /// Seconds of sending that may happen ahead of the even schedule.
    public var burst: Double
    /// The theoretical arrival time of the next unit: the schedule's head.
    private var head: Double

    public init(rate: Double, burst: Double, now: Double) {
        self.rate = max(rate, 1e-9)
        self.burst = burst
        head = now
    }

    /// Reserves `cost` units; returns the time they may go (≥ `now`).
    public mutating func reserve(cost: Double, now: Double) -> Double {
        let slot = max(now, head - burst)
        head = max(head, now) + cost / rate
        return slot
    }

    /// Gives back units reserved but not used (a token estimate above the real count).
    public mutating func refund(_ cost: Double, now: Double) {
        head = max(now, head - cost / rate)
    }

    /// How far the schedule runs ahead of `now`, in seconds: > 0 means demand exceeds the rate.
    public func backlog(now: Double) -> Double { max(0, head - now) }

    /// A new rate; the schedule restarts at `now` (the waiters reserve again).
    public mutating func reset(rate: Double, now: Double) {
        self.rate = max(rate, 1e-9)
        head = now
    }
}
