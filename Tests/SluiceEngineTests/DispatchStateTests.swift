import SluiceEngine
import Testing

@Suite("Dispatch state machines")
struct DispatchStateTests {
    @Test func aimdIncreasesAdditivelyAndDecreasesOncePerWindow() {
        var limit = AdaptiveLimit(floor: 4, ceiling: 100, window: 5)
        #expect(limit.current == 16 && limit.slowStart)
        // Slow start: one more per answer until the first overload.
        for _ in 0..<24 { limit.onAnswer() }
        #expect(limit.current == 40)
        let first = limit.onOverload(now: 10)
        #expect(first && !limit.slowStart)
        let afterFirst = limit.current
        #expect(afterFirst == 30)
        // More overload signals within the window are the same congestion event.
        let second = limit.onOverload(now: 12)
        let third = limit.onOverload(now: 14.9)
        #expect(!second && !third)
        #expect(limit.current == afterFirst)
        let fourth = limit.onOverload(now: 15)
        #expect(fourth)
        #expect(limit.current < afterFirst)
        for t in 0..<50 { limit.onOverload(now: 20 + Double(t) * 5) }
        #expect(limit.current == 4)
        // Additive increase: about one per round trip's worth (limit) of answers.
        for _ in 0..<40 { limit.onAnswer() }
        #expect(limit.current == 9)  // v² grows by about 2 per answer: √(16 + 80) ≈ 9.8
        for _ in 0..<100_000 { limit.onAnswer() }
        #expect(limit.current == 100)
    }

    @Test func rateBudgetPacesRequestsAndTokens() {
        var b = RateBudget(requestsPerMinute: 60, tokensPerMinute: 600)
        let firstWait = b.reserve(tokens: 10, now: 0)
        #expect(firstWait == 0)
        // The request bucket starts full (60) and refills at one a second.
        for _ in 0..<59 { _ = b.reserve(tokens: 1, now: 0) }
        let wait = b.reserve(tokens: 1, now: 0)
        #expect(wait > 0.99 && wait <= 1.0)
        let later = b.reserve(tokens: 1, now: 1.0)
        #expect(later == 0)
        var t = RateBudget(requestsPerMinute: nil, tokensPerMinute: 600)
        let all = t.reserve(tokens: 600, now: 0)
        let more = t.reserve(tokens: 100, now: 0)
        #expect(all == 0 && abs(more - 10) < 1e-9)
        t.correct(estimated: 600, actual: 500)
        let corrected = t.reserve(tokens: 100, now: 0)
        #expect(corrected == 0)
    }

    @Test func a429PauseHoldsEveryNewRequest() {
        var b = RateBudget(requestsPerMinute: nil, tokensPerMinute: nil)
        b.pause(for: 30, now: 100)
        let paused = b.reserve(tokens: 1, now: 110)
        #expect(paused == 20)
        b.pause(for: 5, now: 110)
        #expect(b.pausedUntil == 130)
        let resumed = b.reserve(tokens: 1, now: 130)
        #expect(resumed == 0)
    }

    @Test func retryBudgetIsAFractionOfRecentRequests() {
        var r = RetryBudget(ratio: 0.5, minimum: 2, window: 60)
        for _ in 0..<10 { r.recordRequest(now: 0) }
        var granted = 0
        for _ in 0..<20 where r.tryRetry(now: 1) { granted += 1 }
        #expect(granted == 7)
        // Old requests and retries age out of the window.
        let aged = r.tryRetry(now: 62)
        #expect(aged)
    }
}
