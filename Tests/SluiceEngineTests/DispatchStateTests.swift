import SluiceEngine
import Testing

@Suite("Dispatch state machines")
struct DispatchStateTests {
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
