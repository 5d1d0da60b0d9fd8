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
