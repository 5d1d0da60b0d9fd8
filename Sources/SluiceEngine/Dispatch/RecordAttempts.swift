import SluiceModel

/// One record's attempts, and what it does after each failure: a pure state machine in the
/// style of AsyncHTTPClient's connection-pool machine. It returns an action; the dispatcher
/// carries it out (sleeps, counts, logs, stops the run), so every decision is testable
/// without I/O or clocks.
struct RecordAttempts: Sendable {
    /// What follows a failed attempt.
    enum Action: Sendable, Equatable {
        /// Send again at `tier` after `after` seconds.
        case retry(after: Double, tier: ServiceTier)
        /// No attempt can succeed: the record fails permanently.
        case giveUp
        /// Not answered in this run; the next run sends it again. `waitBudget`: because the
        /// record's wait budget ran out (counted and reported).
        case leavePending(waitBudget: Bool)
        /// The whole run must stop (resumably, or not, as the reason says).
        case stopRun(StopReason)
    }

    let policy: DispatchPolicy
    /// Seconds (on the dispatcher's clock) of the first attempt.
    let firstAttempt: Double
    /// The tier the next attempt goes to.
    private(set) var tier: ServiceTier
    private(set) var attempt = 0
    private(set) var shedCount = 0
    /// Failures that count toward the attempt cap (`RetryPolicy.counts`).
    private(set) var faults = 0

    init(policy: DispatchPolicy, tier: ServiceTier, now: Double) {
        self.policy = policy
        self.tier = tier
        self.firstAttempt = now
    }

    /// An attempt is about to be sent.
    mutating func begin() { attempt += 1 }

    /// Decides after a failed attempt. `uniform` is the jitter draw in [0, 1); `stopping`:
    /// the run is already stopping, so nothing more is sent.
    mutating func failed(_ error: ModelError, now: Double, uniform: Double, stopping: Bool) -> Action {
        if error.kind == .shed { shedCount += 1 }
        if RetryPolicy.counts(error) { faults += 1 }
        switch error.kind {
        case .dailyQuota:
            return .stopRun(.quota("stopped: daily quota exhausted"))
        case .billing:
            return .stopRun(.quota("stopped: billing: \(error.message)"))
        case .untrustedServer:
            return .stopRun(.untrustedServer("stopped: \(error.message)"))
        case .invalidRequest where [401, 403, 404].contains(error.status ?? 0):
            return .stopRun(.fatal("stopped: the service refused the job (\(error)); check the API key, model and endpoint"))
        default:
            break
        }
        if stopping { return .leavePending(waitBudget: false) }
        guard var delay = policy.retry.delay(afterAttempt: attempt, faults: faults, error: error, uniform: uniform) else { return .giveUp }
        if let fallback = policy.fallbackTier, tier != fallback, error.kind == .shed, shedCount >= policy.fallbackAfterShed {
            tier = fallback
            delay = 0
        }
        if let maxWait = policy.maxWait, now - firstAttempt + delay > maxWait {
            guard let fallback = policy.fallbackTier, tier != fallback else { return .leavePending(waitBudget: true) }
            tier = fallback
            delay = 0
        }
        return .retry(after: delay, tier: tier)
    }

    /// Whether a record waiting for its retry permit has run out of its wait budget.
    func outOfTime(now: Double) -> Bool {
        guard let maxWait = policy.maxWait else { return false }
        return now - firstAttempt > maxWait
    }
}
