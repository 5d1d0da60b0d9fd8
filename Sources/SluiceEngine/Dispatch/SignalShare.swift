/// Responses and overload signals (sheds, 429s that name no quota) over a trailing window, in
/// eight buckets: whether the signals are dense enough to be overload rather than noise. A few
/// percent of stray 503s or 429s never are; a full queue or a spent quota answers most sends so.
struct SignalShare: Sendable, Equatable {
    struct Bucket: Sendable, Equatable {
        var index = Int.min
        var responses = 0
        var signals = 0
    }

    /// Seconds weighed.
    let window: Double
    /// Least share of the responses that must be signals.
    var share = 0.2
    /// Least number of signals.
    var minimum = 8
    private var buckets = Array(repeating: Bucket(), count: 8)

    init(window: Double) { self.window = max(window, 1e-6) }

    private func index(_ now: Double) -> Int { Int((now / (window / 8)).rounded(.down)) }

    /// A response at `now`; `signal`: it was an overload signal.
    mutating func record(now: Double, signal: Bool) {
        let i = index(now)
        let s = ((i % 8) + 8) % 8
        if buckets[s].index != i { buckets[s] = Bucket(index: i) }
        buckets[s].responses += 1
        if signal { buckets[s].signals += 1 }
    }

    /// Whether the signals of the last `window` are overload.
    func dense(now: Double) -> Bool {
        let current = index(now)
        var responses = 0, signals = 0
        for b in buckets where b.index > current - 8 && b.index <= current {
            responses += b.responses
            signals += b.signals
        }
        return signals >= minimum && Double(signals) >= share * Double(responses)
    }
}
