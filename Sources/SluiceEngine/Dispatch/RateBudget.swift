/// Client-side RPM and TPM token buckets shared by every request, plus a global pause set by a
/// 429 that names a delay. Pure: callers pass the clock; `reserve` says how long to wait.
public struct RateBudget: Sendable, Equatable {
    public var requestsPerMinute: Double?
    public var tokensPerMinute: Double?
    private var requestLevel: Double
    private var tokenLevel: Double
    private var updated: Double
    /// No request may start before this time.
    public private(set) var pausedUntil: Double = 0

    public init(requestsPerMinute: Int?, tokensPerMinute: Int?, now: Double = 0) {
        self.requestsPerMinute = requestsPerMinute.map(Double.init)
        self.tokensPerMinute = tokensPerMinute.map(Double.init)
        requestLevel = self.requestsPerMinute ?? 0
        tokenLevel = self.tokensPerMinute ?? 0
        updated = now
    }

    private mutating func refill(_ now: Double) {
        let elapsed = max(0, now - updated)
        updated = max(updated, now)
        if let rpm = requestsPerMinute { requestLevel = min(rpm, requestLevel + elapsed * rpm / 60) }
        if let tpm = tokensPerMinute { tokenLevel = min(tpm, tokenLevel + elapsed * tpm / 60) }
    }

    /// Takes one request and `tokens` (estimated) from the buckets. Returns 0 when the request
    /// may go now, else the seconds to wait before asking again (nothing is taken then).
    public mutating func reserve(tokens: Int, now: Double) -> Double {
        if now < pausedUntil { return pausedUntil - now }
        refill(now)
        var wait = 0.0
        if let rpm = requestsPerMinute, requestLevel < 1 { wait = max(wait, (1 - requestLevel) * 60 / rpm) }
        if let tpm = tokensPerMinute {
            let need = min(Double(tokens), tpm)
            if tokenLevel < need { wait = max(wait, (need - tokenLevel) * 60 / tpm) }
        }
        guard wait == 0 else { return wait }
        if requestsPerMinute != nil { requestLevel -= 1 }
        if tokensPerMinute != nil { tokenLevel -= Double(tokens) }
        return 0
    }

    /// Corrects the token bucket once the real input tokens are known.
    public mutating func correct(estimated: Int, actual: Int) {
        if let tpm = tokensPerMinute { tokenLevel = min(tpm, tokenLevel + Double(estimated - actual)) }
    }

    /// A 429 asked for `delay` seconds: no new request before then.
    public mutating func pause(for delay: Double, now: Double) {
        pausedUntil = max(pausedUntil, now + delay)
    }
}

/// Retries may be at most `ratio` of the requests of the last `window` seconds (plus a few),
/// so a service that fails everything is not hammered by every record's retry loop at once.
public struct RetryBudget: Sendable, Equatable {
    public var ratio: Double
    public var minimum: Int
    public var window: Double
    private var requests: [Double] = []
    private var retries: [Double] = []

    public init(ratio: Double = 0.5, minimum: Int = 10, window: Double = 60) {
        self.ratio = ratio
        self.minimum = minimum
        self.window = window
    }

    private mutating func trim(_ now: Double) {
        let horizon = now - window
        if let i = requests.firstIndex(where: { $0 >= horizon }) { requests.removeFirst(i) } else { requests.removeAll() }
        if let i = retries.firstIndex(where: { $0 >= horizon }) { retries.removeFirst(i) } else { retries.removeAll() }
    }

    public mutating func recordRequest(now: Double) {
        trim(now)
        requests.append(now)
    }

    /// Takes a retry from the budget if there is one.
    public mutating func tryRetry(now: Double) -> Bool {
        trim(now)
        guard Double(retries.count) < Double(minimum) + ratio * Double(requests.count) else { return false }
        retries.append(now)
        return true
    }
}
