/// Pure per-project quota accounting over fixed windows measured from the simulator's start:
/// requests and input tokens per "minute", requests per "day".
struct RateLimitState: Sendable {
    var limits: SimulatorConfiguration.RateLimits
    private var minuteIndex = -1
    private var minuteRequests = 0
    private var minuteTokens = 0
    private var dayIndex = -1
    private var dayRequests = 0

    init(limits: SimulatorConfiguration.RateLimits) { self.limits = limits }

    enum Verdict: Equatable {
        case allowed
        /// Over a per-minute limit; `retryAfter` seconds until the window resets.
        case perMinute(metric: Metric, limit: Int, retryAfter: Double)
        /// Over the daily quota; `retryAfter` seconds until the day resets.
        case perDay(limit: Int, retryAfter: Double)
    }

    enum Metric: Equatable { case requests, inputTokens }

    /// Counts a request at `elapsed` seconds if every limit allows it; a refused request is not counted.
    mutating func admit(inputTokens: Int, elapsed: Double) -> Verdict {
        let minute = Int(elapsed / limits.window)
        if minute != minuteIndex {
            minuteIndex = minute
            minuteRequests = 0
            minuteTokens = 0
        }
        let day = Int(elapsed / limits.day)
        if day != dayIndex {
            dayIndex = day
            dayRequests = 0
        }
        if let rpd = limits.rpd, dayRequests >= rpd {
            return .perDay(limit: rpd, retryAfter: Double(day + 1) * limits.day - elapsed)
        }
        let minuteLeft = Double(minute + 1) * limits.window - elapsed
        if let rpm = limits.rpm, minuteRequests >= rpm {
            return .perMinute(metric: .requests, limit: rpm, retryAfter: minuteLeft)
        }
        if let tpm = limits.tpm, minuteTokens + inputTokens > tpm, minuteTokens > 0 || inputTokens > tpm {
            return .perMinute(metric: .inputTokens, limit: tpm, retryAfter: minuteLeft)
        }
        minuteRequests += 1
        minuteTokens += inputTokens
        dayRequests += 1
        return .allowed
    }
}
