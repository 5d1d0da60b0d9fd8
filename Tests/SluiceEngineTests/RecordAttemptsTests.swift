@testable import SluiceEngine
import SluiceModel
import Testing

/// The per-record attempt machine, without I/O: every branch of what follows a failure.
@Suite("Record attempts")
struct RecordAttemptsTests {
    let shed = ModelError(.shed, status: 503, message: "busy")

    func machine(_ configure: (inout DispatchPolicy) -> Void = { _ in }) -> RecordAttempts {
        var policy = DispatchPolicy()
        policy.retry.baseDelay = 2
        policy.retry.maxDelay = 120
        policy.retry.maxAttempts = 4
        configure(&policy)
        var m = RecordAttempts(policy: policy, tier: .flex, now: 100)
        m.begin()
        return m
    }

    @Test func retriesWithBackoffThenGivesUp() {
        let fault = ModelError(.transient, status: 500, message: "oops")
        var m = machine()
        #expect(m.failed(fault, now: 101, uniform: 0.5, stopping: false) == .retry(after: 1, tier: .flex))
        m.begin()
        #expect(m.failed(fault, now: 102, uniform: 0.5, stopping: false) == .retry(after: 2, tier: .flex))
        m.begin()
        #expect(m.failed(fault, now: 103, uniform: 0.5, stopping: false) == .retry(after: 4, tier: .flex))
        m.begin()
        #expect(m.attempt == 4)
        #expect(m.failed(fault, now: 104, uniform: 0.5, stopping: false) == .giveUp)
    }

    /// "Come back later" is about the service, not the record: sheds and rate limits never use
    /// up the attempts (the wait budget bounds them), and do not bring the faults' cap closer.
    @Test func shedsAndRateLimitsDoNotCountTowardTheAttemptCap() {
        var m = machine { $0.maxWait = nil }
        let limited = ModelError(.rateLimited, status: 429, message: "slow", retryAfter: 1)
        for i in 0..<50 {
            #expect(m.failed(i.isMultiple(of: 2) ? shed : limited, now: 101 + Double(i), uniform: 0.5, stopping: false) != .giveUp)
            m.begin()
        }
        #expect(m.faults == 0)
        let fault = ModelError(.transport, message: "reset")
        for i in 0..<3 {
            #expect(m.failed(fault, now: 200 + Double(i), uniform: 0.5, stopping: false) != .giveUp)
            m.begin()
        }
        #expect(m.failed(fault, now: 210, uniform: 0.5, stopping: false) == .giveUp)
    }

    @Test func theServicesDelayIsAFloor() {
        var m = machine()
        let limited = ModelError(.rateLimited, status: 429, message: "slow", retryAfter: 30)
        #expect(m.failed(limited, now: 101, uniform: 0, stopping: false) == .retry(after: 30, tier: .flex))
    }

    @Test func permanentErrorsGiveUpAtOnce() {
        var m = machine()
        #expect(m.failed(ModelError(.invalidRequest, status: 400, message: "bad"), now: 101, uniform: 0.5, stopping: false) == .giveUp)
        var blocked = machine()
        #expect(blocked.failed(ModelError(.blocked, message: "safety"), now: 101, uniform: 0.5, stopping: false) == .giveUp)
    }

    @Test func quotaBillingAndRefusalsStopTheRun() {
        var a = machine()
        #expect(a.failed(ModelError(.dailyQuota, status: 429, message: "day"), now: 101, uniform: 0.5, stopping: false) == .stopRun(.quota("stopped: daily quota exhausted")))
        var b = machine()
        #expect(b.failed(ModelError(.billing, status: 429, message: "credits depleted"), now: 101, uniform: 0.5, stopping: false) == .stopRun(.quota("stopped: billing: credits depleted")))
        for status in [401, 403, 404] {
            var c = machine()
            guard case .stopRun(.fatal(let why)) = c.failed(ModelError(.invalidRequest, status: status, message: "no"), now: 101, uniform: 0.5, stopping: false) else {
                Issue.record("HTTP \(status) did not stop the run")
                continue
            }
            #expect(why.contains("check the API key, model and endpoint"))
        }
        // No retry can make an untrusted server trusted; the caller says how to trust it.
        var d = machine()
        let untrusted = ModelError(.untrustedServer, message: "the server's TLS certificate is not signed by a trusted authority")
        #expect(!untrusted.isRetryable)
        #expect(d.failed(untrusted, now: 101, uniform: 0.5, stopping: false) == .stopRun(.untrustedServer("stopped: \(untrusted.message)")))
    }

    @Test func aStoppingRunLeavesRecordsPending() {
        var m = machine()
        #expect(m.failed(shed, now: 101, uniform: 0.5, stopping: true) == .leavePending(waitBudget: false))
        // A quota stop still names its reason while stopping: the first reason wins elsewhere.
        var q = machine()
        #expect(q.failed(ModelError(.dailyQuota, status: 429, message: "day"), now: 101, uniform: 0.5, stopping: true) == .stopRun(.quota("stopped: daily quota exhausted")))
    }

    @Test func fallsBackAfterShedAttemptsWhenAsked() {
        var m = machine { $0.fallbackTier = .standard; $0.fallbackAfterShed = 2; $0.retry.maxAttempts = 10 }
        #expect(m.failed(shed, now: 101, uniform: 0.5, stopping: false) == .retry(after: 1, tier: .flex))
        m.begin()
        #expect(m.failed(shed, now: 102, uniform: 0.5, stopping: false) == .retry(after: 0, tier: .standard))
        #expect(m.tier == .standard && m.shedCount == 2)
        // Other transient errors do not count toward the shed fallback.
        var t = machine { $0.fallbackTier = .standard; $0.fallbackAfterShed = 1 }
        #expect(t.failed(ModelError(.transient, status: 500, message: "x"), now: 101, uniform: 0.5, stopping: false) == .retry(after: 1, tier: .flex))
    }

    @Test func theWaitBudgetLeavesPendingOrFallsBack() {
        var m = machine { $0.maxWait = 60; $0.retry.maxAttempts = 10 }
        #expect(m.failed(shed, now: 150, uniform: 0.5, stopping: false) == .retry(after: 1, tier: .flex))
        m.begin()
        // 159.5 s since the first attempt plus a 2 s backoff would pass the budget.
        #expect(m.failed(shed, now: 159.5, uniform: 0.5, stopping: false) == .leavePending(waitBudget: true))
        #expect(!m.outOfTime(now: 160) && m.outOfTime(now: 160.5))
        var f = machine { $0.maxWait = 60; $0.fallbackTier = .standard; $0.retry.maxAttempts = 10 }
        #expect(f.failed(shed, now: 170, uniform: 0.5, stopping: false) == .retry(after: 0, tier: .standard))
    }
}
