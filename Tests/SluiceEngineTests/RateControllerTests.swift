import SluiceEngine
import SluiceModel
import SluiceTestSupport
import Testing

/// The rate controller on a simulated clock: no sleeping, every time is passed in.
@Suite("Rate controller")
struct RateControllerTests {
    static func quota429(_ id: String? = nil, limit: Int? = nil, retryAfter: Double? = nil) -> ModelError {
        var e = ModelError(.rateLimited, status: 429, message: "Resource has been exhausted", retryAfter: retryAfter)
        if let id { e.quota = ModelError.Quota(id: id, limit: limit) }
        return e
    }

    @Test func pacerSpacesSlotsEvenlyAfterItsBurst() {
        var p = Pacer(rate: 10, burst: 0.5, now: 0)
        let slots = (0..<20).map { _ in p.reserve(cost: 1, now: 0) }
        // Half a second of sends go at once (5 slots ≤ 0.5 s of credit, plus the first), then 0.1 s apart.
        #expect(slots.prefix(6).allSatisfy { $0 == 0 })
        for i in 6..<20 { #expect(abs(slots[i] - (Double(i) * 0.1 - 0.5)) < 1e-9) }
        #expect(abs(p.backlog(now: 0) - 2.0) < 1e-9)
        p.refund(5, now: 0)
        #expect(abs(p.backlog(now: 0) - 1.5) < 1e-9)
    }

    @Test func configuredRatesArePacedJustUnderAndNeverLearned() {
        var r = RateController(minute: 60, requestsPerMinute: 600, tokensPerMinute: nil)
        #expect(r.requests?.source == .configured)
        let slots = (0..<100).map { _ in r.reserve(tokens: 10, now: 0).at }
        // 600 × 0.98 per minute: 9.8 a second, a second's burst first.
        let spacing = slots[99] - slots[98]
        #expect(abs(spacing - 60.0 / 588) < 1e-9)
        #expect(slots.filter { $0 == 0 }.count <= 11)
        r.rateLimited(Self.quota429("GenerateRequestsPerMinutePerProjectPerModel", limit: 100, retryAfter: 3), sentAt: 1, now: 1)
        #expect(r.requests?.perMinute == 588 && r.requests?.source == .configured)
        #expect(r.pausedUntil == 4)
    }

    @Test func aNamedQuotaSetsThePaceAndItsDelayPausesEverySend() {
        var r = RateController(minute: 60)
        #expect(r.requestRate == nil)
        let early = r.reserve(tokens: 5, now: 0)
        #expect(early.at == 0)
        r.sent(now: 0)
        r.rateLimited(Self.quota429("GenerateRequestsPerMinutePerProjectPerModel", limit: 1000, retryAfter: 12), sentAt: 2, now: 2)
        #expect(r.requests?.perMinute == 980 && r.requests?.source == .quota)
        #expect(r.pausedUntil == 14)
        // A slot given before the 429 is void: its holder reserves again, after the pause.
        #expect(!r.valid(early, now: 3))
        let next = r.reserve(tokens: 5, now: 3)
        #expect(next.at == 14 && r.valid(next, now: 14))
        // A token quota paces tokens, not requests.
        r.rateLimited(Self.quota429("GenerateContentInputTokensPerModelPerMinute", limit: 60_000, retryAfter: 1), sentAt: 15, now: 15)
        #expect(r.tokens?.perMinute == 58_800 && r.tokens?.source == .quota)
        #expect(r.requests?.perMinute == 980)
        // A per-day quota is not a rate.
        r.rateLimited(Self.quota429("GenerateRequestsPerDayPerProjectPerModel", limit: 10, retryAfter: 1), sentAt: 16, now: 16)
        #expect(r.requests?.perMinute == 980)
    }

    @Test func aBare429EstimatesTheQuotaFromWhatWasAcceptedAndTheWindowFromTheFirstSend() {
        var r = RateController(minute: 60)
        // 1,000 accepted in the first 10 s, then 429s that name nothing: one alone is no
        // quota signal (Flex answers a stray 429 when busy), a run of them is.
        // Once the quota is spent every send is refused; they are overload once they are a
        // fifth of the sends of the last 2 s (about 200 accepted before them): near the 50th.
        for i in 0..<1000 { r.sent(now: Double(i) / 100) }
        var learnedAt: Int?
        for i in 0..<50 {
            let t = 10 + Double(i) / 100
            r.sent(now: t)
            r.rateLimited(Self.quota429(), sentAt: t, now: t)
            if r.requests != nil {
                learnedAt = i + 1
                break
            }
        }
        #expect(learnedAt != nil && learnedAt! >= 30, "learned at the \(learnedAt ?? -1)th refusal")
        #expect(r.requests?.source == .estimated)
        #expect(abs(r.requests!.perMinute - 980) < 1e-9)
        // The window is taken to have started with the first send: 50 s remain.
        #expect(r.pausedUntil == 60)
        // The rest of the overshoot, coming back late from a busy service, teaches nothing new:
        // sent before the estimate, it does not lower it, however many.
        for i in 0..<300 { r.rateLimited(Self.quota429(), sentAt: 10, now: 10.5 + Double(i) / 100) }
        #expect(r.requests!.perMinute == 980)
        // A new overshoot, sent after it, does: paced at 980 a minute since the window reset at
        // 60 s, the window was full 6 s later — a quota of 98, just under which it now paces.
        for i in 0..<600 { r.sent(now: 60 + Double(i) / 100) }
        for i in 0..<100 where r.requests!.perMinute == 980 {
            let t = 66 + Double(i) / 100
            r.sent(now: t)
            r.rateLimited(Self.quota429(), sentAt: 66, now: t)
        }
        #expect(abs(r.requests!.perMinute - 98 * 0.98) < 1e-6, "\(r.requests!.perMinute)")
        // A named quota replaces the estimate, even upward.
        r.rateLimited(Self.quota429("GenerateRequestsPerMinutePerProjectPerModel", limit: 2000, retryAfter: 1), sentAt: 67, now: 67)
        #expect(r.requests?.perMinute == 1960 && r.requests?.source == .quota)
    }

    @Test func strayBare429sNeitherPaceNorPause() {
        var r = RateController(minute: 60)
        for i in 0..<2000 {
            let t = Double(i) / 100
            r.sent(now: t)
            if i % 20 == 0 { r.rateLimited(Self.quota429(), sentAt: t, now: t) }
        }
        #expect(r.requests == nil && r.pausedUntil == 0)
        // One that names a delay is obeyed, but sets no rate.
        r.rateLimited(Self.quota429(retryAfter: 5), sentAt: 20, now: 20)
        #expect(r.requests == nil && r.pausedUntil == 25)
    }

    @Test func anEstimateIsProbedUpwardOnTimeOnlyWhileDemandExceedsIt() {
        var r = RateController(minute: 60)
        for _ in 0..<100 { r.sent(now: 0) }
        for _ in 0..<25 { r.rateLimited(Self.quota429(retryAfter: 1), sentAt: 0, now: 0) }
        let start = r.requests!.perMinute
        // No demand: no probe.
        for t in stride(from: 1.0, through: 60, by: 1) { r.tick(now: t) }
        #expect(r.requests!.perMinute == start)
        // Demand above the pace for a minute (the first minute of probing): about +10%.
        for t in stride(from: 61.0, through: 120, by: 0.5) {
            while r.reserve(tokens: 1, now: t).at <= t + 1 {}
            r.tick(now: t)
        }
        let probed = r.requests!.perMinute / start
        #expect(probed > 1.08 && probed < 1.12, "\(probed)")
        // The probe doubles each minute of probing without a 429: an estimate taken far too low recovers in minutes.
        for t in stride(from: 120.5, through: 420, by: 0.5) {
            while r.reserve(tokens: 1, now: t).at <= t + 1 {}
            r.tick(now: t)
        }
        #expect(r.requests!.perMinute / start > 50, "\(r.requests!.perMinute / start)")
    }

    /// A fixed-window quota service on a simulated clock, driven as hard as the controller lets
    /// it: ≥ 95% of the quota in steady state and ≤ 2% of requests answered 429, whether the
    /// 429s name the quota and the delay (generateContent) or nothing (no details).
    @Test(arguments: [true, false])
    func aClosedLoopEarnsTheQuotaWithFew429s(details: Bool) {
        let quota = 1000, window = 60.0
        var r = RateController(minute: window)
        var t = 0.0, windowIndex = 0, used = 0
        var accepted = 0, refused = 0, sent = 0
        var slot = r.reserve(tokens: 1, now: t)
        var steps = 0
        while t < 20 * window, steps < 1_000_000 {
            steps += 1
            t = max(t, slot.at)
            guard r.valid(slot, now: t) else {
                slot = r.reserve(tokens: 1, now: t)
                continue
            }
            r.sent(now: t)
            let w = Int(t / window)
            if w != windowIndex { windowIndex = w; used = 0 }
            let steady = t >= 2 * window
            if steady { sent += 1 }
            if used < quota {
                used += 1
                if steady { accepted += 1 }
            } else {
                if steady { refused += 1 }
                let remainder = Double(w + 1) * window - t
                let error = details ? Self.quota429("GenerateRequestsPerMinutePerProjectPerModel", limit: quota, retryAfter: remainder) : Self.quota429()
                r.rateLimited(error, sentAt: t, now: t)
            }
            r.tick(now: t)
            slot = r.reserve(tokens: 1, now: t)
        }
        let share = Double(accepted) / Double(18 * quota)
        let refusedShare = Double(refused) / Double(max(sent, 1))
        #expect(share >= 0.95, "steady-state share of the quota \(share)")
        #expect(refusedShare <= 0.02, "429 share \(refusedShare)")
    }
}

/// The capacity controller and the in-flight bound on a simulated clock.
@Suite("Capacity controller")
struct CapacityControllerTests {
    @Test func growsExponentiallyOnTimeOnlyWhileItBinds() {
        var c = CapacityController(floor: 4, ceiling: 100_000, initial: 16, now: 0)
        c.tick(now: 1, demand: 0)
        #expect(c.current == 16)
        for t in stride(from: 1.1, through: 11.0, by: 0.1) { c.tick(now: t, demand: c.current) }
        // 10 s at one doubling every 2 s: 16 · 2⁵.
        #expect(c.current >= 500 && c.current <= 520)
    }

    @Test func randomSheddingOfAFewPercentNeverDecreases() {
        var c = CapacityController(floor: 4, ceiling: 5000, initial: 5000, now: 0)
        var rng = SeededRandom(seed: 20261203)  // seeded: the same draws every run
        for i in 0..<20_000 {
            let t = Double(i) / 200
            // Weighed against sends: no answer comes back within the run (Flex minutes), so
            // every response seen is a shed — still only 5% of what was sent.
            c.sent(now: t)
            if Double.random(in: 0..<1, using: &rng) < 0.05 {
                let down = c.shed(now: t, inFlight: 5000)
                #expect(!down)
            }
        }
        #expect(c.current == 5000)
    }

    @Test func overloadDecreasesOncePerWindowFromTheLoadThenRecoversOnTime() {
        var c = CapacityController(floor: 4, ceiling: 100_000, initial: 10_000, now: 0)
        var decreases = 0
        // A burst of evictions: 100 sheds within 10 ms, 3,000 on the wire.
        for i in 0..<100 where c.shed(now: 1 + Double(i) / 10_000, inFlight: 3000) { decreases += 1 }
        #expect(decreases == 1)
        #expect(c.current == 2100)
        // Still shedding two seconds later: another decrease.
        for i in 0..<20 where c.shed(now: 3.01 + Double(i) / 1000, inFlight: 2100) { decreases += 1 }
        #expect(decreases == 2 && c.current == 1470)
        // Recovery is concave: most of the way back well before `recovery` (10 s), all of it at 10 s.
        for t in stride(from: 3.1, through: 8.0, by: 0.1) { c.tick(now: t, demand: c.current) }
        #expect(c.current > 1900 && c.current < 2100)
        for t in stride(from: 8.1, through: 13.1, by: 0.1) { c.tick(now: t, demand: c.current) }
        #expect(c.current >= 2100)
        // Then exponential probing again.
        for t in stride(from: 13.2, through: 19.2, by: 0.1) { c.tick(now: t, demand: c.current) }
        #expect(c.current > 8000)
    }

    /// A service holding at most `room` requests (capacity + queue; the rest shed at once), each
    /// answered after 60 s, driven by the controller on a 50 ms clock. The room drops to a tenth
    /// for five minutes and comes back: the service stays saturated before the spike, and the
    /// limit is back at ≥ 90% of the room within two round trips of its end.
    @Test func aClosedLoopTracksCapacityThroughASpike() {
        let latency = 60.0, step = 0.05
        var c = CapacityController(floor: 4, ceiling: 100_000, now: 0)
        var completions: [Double] = []  // finish times, in send order (constant latency: sorted)
        var head = 0
        var minBeforeSpike = Int.max
        var recoveredAt: Double?
        for i in 1...Int(900 / step) {
            let t = Double(i) * step
            let room = t >= 300 && t < 600 ? 300 : 3000
            while head < completions.count, completions[head] <= t { head += 1 }
            var inFlight = completions.count - head
            if inFlight > room {
                // Evictions: what the shrunken service no longer holds comes back as 503.
                let evicted = inFlight - room
                completions.removeLast(evicted)
                for _ in 0..<evicted { c.shed(now: t, inFlight: inFlight) }
                inFlight = room
            }
            c.tick(now: t, demand: max(inFlight, c.current))
            let want = c.current - inFlight
            if want > 0 {
                for _ in 0..<want {
                    c.sent(now: t)
                    if completions.count - head < room {
                        completions.append(t + latency)
                    } else {
                        c.shed(now: t, inFlight: completions.count - head)
                    }
                }
            }
            if t > 30, t < 300 { minBeforeSpike = min(minBeforeSpike, completions.count - head) }
            if t >= 600, recoveredAt == nil, c.current >= 2700 { recoveredAt = t }
            if head > 10_000 { completions.removeFirst(head); head = 0 }
        }
        // Saturated: at least the service's 2,000 slots busy from 30 s on (room 3,000 = 2,000 + queue).
        #expect(minBeforeSpike >= 2000, "in flight fell to \(minBeforeSpike) before the spike")
        let back = recoveredAt.map { $0 - 600 }
        #expect(back != nil && back! <= 2 * latency, "back to 90% after \(back ?? -1) s")
    }

    @Test func littlesLawBoundsInFlightForThePacedRate() {
        var b = InFlightBound(ceiling: 20_000, memoryBudget: 1 << 30)
        // No latency known yet: only the capacity and the ceiling bound it.
        #expect(b.limit(capacity: 50_000, rate: 16.7) == 20_000)
        for _ in 0..<100 { b.answered(latency: 180) }
        // 1,000 RPM at 180 s: 3,000 in flight; with 1.5× headroom 4,500 (+8).
        #expect(b.limit(capacity: 50_000, rate: 1000.0 / 60) == 4508)
        #expect(b.limit(capacity: 1000, rate: 1000.0 / 60) == 1000)
        #expect(b.limit(capacity: 50_000, rate: nil) == 20_000)
        // The memory budget holds at least 20,000 small records by default, fewer big ones.
        #expect(b.memoryCap >= 20_000)
        for _ in 0..<2000 { b.prompt(bytes: 100_000) }
        #expect(b.recordCap < 4000)
    }
}
