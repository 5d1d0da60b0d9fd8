/// Sends and overload signals (sheds, 429s that name no quota) over a trailing window, in
/// eight buckets: whether the signals are dense enough to be overload rather than noise. A few
/// percent of stray 503s or 429s never are; a full queue or a spent quota answers most sends so.
/// Weighed against sends, not responses: Flex answers come minutes after their sends while
/// errors come back at once, so early in a run nearly every response is an error.
struct SignalShare: Sendable, Equatable {
    struct Bucket: Sendable, Equatable {
        var index = Int.min
        var sends = 0
        var signals = 0
    }

    /// Seconds weighed.
    let window: Double
    /// Least share of the sends that the signals must be.
    var share = 0.2
    /// Least number of signals.
    var minimum = 8
    private var buckets = Array(repeating: Bucket(), count: 8)

    init(window: Double) { self.window = max(window, 1e-6) }

    private func index(_ now: Double) -> Int { Int((now / (window / 8)).rounded(.down)) }

    private mutating func bucket(_ now: Double) -> Int {
        let i = index(now)
        let s = ((i % 8) + 8) % 8
        if buckets[s].index != i { buckets[s] = Bucket(index: i) }
        return s
    }

    mutating func sent(now: Double) { buckets[bucket(now)].sends += 1 }
    mutating func signal(now: Double) { buckets[bucket(now)].signals += 1 }

    /// Whether the signals of the last `window` are overload.
    func dense(now: Double) -> Bool {
        let current = index(now)
        var sends = 0, signals = 0
        for b in buckets where b.index > current - 8 && b.index <= current {
            sends += b.sends
            signals += b.signals
        }
        return signals >= minimum && Double(signals) >= share * Double(sends)
    }
}
