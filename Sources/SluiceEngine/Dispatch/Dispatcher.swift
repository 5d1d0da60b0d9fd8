import Foundation
import Logging
import SluiceModel
import SluiceJSON
import Synchronization

/// Sends the job's requests within three limits, each from its own signal — the rate
/// (`RateController`: requests and tokens per minute, paced evenly), Flex's capacity
/// (`CapacityController`: shedding) and the in-flight bound (`InFlightBound`: Little's law,
/// memory, the ceiling) — with backoff and a retry budget, per-record attempt and wait budgets,
/// opt-in fallback to another tier, dedupe of identical prompts, and a cost cap. One call of
/// `resolve` per record; the job journals what it returns. The controllers are pure; this
/// class is their shell: a lock, continuations, and `runClock`, which ticks them.
public final class Dispatcher: Sendable {
    /// What became of one record's request.
    public enum Resolution: Sendable {
        case answered(GenerationResult, attempts: Int, wasted: TokenUsage, tier: ServiceTier, shared: Bool)
        case failed(ModelError, attempts: Int, wasted: TokenUsage)
        /// Not answered in this run (stop, wait budget): stays pending for the next run.
        case pending
    }

    struct State: Sendable {
        var capacity: CapacityController
        var rates: RateController
        var bound: InFlightBound
        /// The in-flight limit now: the least of the three.
        var limit = 0
        var retries: RetryBudget
        var waiters: [String: [CheckedContinuation<Resolution?, Never>]] = [:]
        var spent = 0.0
        var reserved = 0.0
        var averageOutput = 256.0
        var answersSeen = 0
        /// Requests on the wire, and attempts waiting for a permit (FIFO from `permitHead`).
        var onWire = 0
        var permitWaiters: [CheckedContinuation<Void, Never>] = []
        var permitHead = 0

        /// Hands free permits to waiters in arrival order; returns who to wake.
        mutating func grantPermits() -> [CheckedContinuation<Void, Never>] {
            var wake: [CheckedContinuation<Void, Never>] = []
            while onWire < limit, permitHead < permitWaiters.count {
                wake.append(permitWaiters[permitHead])
                permitHead += 1
                onWire += 1
            }
            if permitHead > 1024, permitHead * 2 > permitWaiters.count {
                permitWaiters.removeFirst(permitHead)
                permitHead = 0
            }
            return wake
        }

        /// Recomputes the in-flight limit after any controller moved.
        mutating func updateLimit() {
            limit = bound.limit(capacity: capacity.current, rate: rates.requestRate)
        }

        var waitingForPermit: Int { permitWaiters.count - permitHead }
    }

    let client: any ModelClient
    /// Every request of the job but its prompt (model, system, schema, tier, generation settings).
    let prototype: GenerationRequest
    let prices: any PriceBook
    let policy: DispatchPolicy
    /// Characters of the system instruction, added to every prompt's token estimate.
    private let systemCharacters: Int
    let counters: RunCounters
    let stop: StopSignal
    let logger: Logger
    private let state: Mutex<State>
    private let clockStopped = Atomic<Bool>(false)
    private let started = ContinuousClock.now

    /// `concurrency`: the ceiling of records in process and of requests in flight.
    init(client: any ModelClient, prototype: GenerationRequest, policy: DispatchPolicy, concurrency: Int, prices: any PriceBook,
         counters: RunCounters, stop: StopSignal, logger: Logger) {
        self.client = client
        self.prototype = prototype
        self.prices = prices
        self.policy = policy
        systemCharacters = prototype.system.map(TokenEstimate.characters) ?? 0
        self.counters = counters
        self.stop = stop
        self.logger = logger
        // Sheds come back in network time, not in Flex time: the capacity clock is not scaled
        // (a scaled benchmark then sees it slower against its latencies: conservative).
        let capacity = CapacityController(floor: min(policy.minConcurrency, concurrency), ceiling: concurrency)
        let rates = RateController(minute: policy.minute, requestsPerMinute: policy.requestsPerMinute, tokensPerMinute: policy.tokensPerMinute)
        let bound = InFlightBound(ceiling: concurrency, memoryBudget: policy.memoryBudget)
        var initial = State(capacity: capacity, rates: rates, bound: bound,
                            retries: RetryBudget(ratio: policy.retryBudgetRatio, minimum: policy.retryBudgetMinimum, window: policy.minute))
        initial.updateLimit()
        let limit = initial.limit
        state = Mutex(initial)
        counters.update { $0.limit = limit }
    }

    var now: Double { (ContinuousClock.now - started).seconds }

    /// Most records in process (in flight or in backoff): the ceiling and the memory budget.
    public var recordCap: Int { state.withLock { $0.bound.recordCap } }

    /// Ticks the controllers (their time-based growth and probes) until cancelled: growth must
    /// not wait for an answer, which on Flex takes minutes.
    func runClock() async {
        let interval = Duration.milliseconds(Int64(max(10, min(100, 100 * policy.timeScale))))
        while !Task.isCancelled, !clockStopped.load(ordering: .relaxed) {
            try? await Task.sleep(for: interval)
            tick()
        }
    }

    /// Ends `runClock` (the pass is over).
    func stopClock() { clockStopped.store(true, ordering: .relaxed) }

    func tick() {
        let (wake, limit) = state.withLock { s -> ([CheckedContinuation<Void, Never>], Int) in
            let t = now
            s.capacity.tick(now: t, demand: s.onWire + s.waitingForPermit)
            s.rates.tick(now: t)
            s.updateLimit()
            return (s.grantPermits(), s.limit)
        }
        counters.update { $0.limit = limit }
        for w in wake { w.resume() }
    }

    /// Waits until fewer requests than the in-flight limit are on the wire. Records sleeping in
    /// backoff hold no permit, so a lower limit really lowers the load on the service.
    func acquirePermit() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.onWire < s.limit, s.permitHead == s.permitWaiters.count {
                    s.onWire += 1
                    return true
                }
                s.permitWaiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
        counters.update { $0.inFlight += 1 }
    }

    func releasePermit() {
        let wake = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.onWire -= 1
            return s.grantPermits()
        }
        counters.update { $0.inFlight -= 1 }
        for w in wake { w.resume() }
    }

    // Every record in process is a task whose async frames stay allocated while it waits for
    // its answer (minutes, on Flex). With 10,000 in flight each kilobyte of frame is 10 MB, so
    // the async functions below keep little state across their awaits and leave the work to
    // synchronous helpers, whose locals live on the thread's stack.

    /// Resolves one record's prompt; identical prompts in flight (same `key`, the prompt's
    /// hash) share one request.
    func resolve(prompt: String, key: String) async -> Resolution {
        guard policy.dedupe else { return await attempts(prompt: prompt) }
        if let shared = await joinIdentical(key: key) { return shared }
        let resolution = await attempts(prompt: prompt)
        shareWithIdentical(key: key, resolution)
        return resolution
    }

    /// Without waiting: true when no request for `key` is under way, and the caller now leads
    /// it (and must `shareWithIdentical` its outcome); false when one is (`follow` it). Packs
    /// are assembled with this: a record must not wait for its twin before joining a pack.
    func lead(key: String) -> Bool {
        state.withLock { s in
            guard s.waiters[key] == nil else { return false }
            s.waiters[key] = []
            return true
        }
    }

    /// The outcome of the request under way for `key`, shared — or, when it was over before
    /// this record could join, the record's own (sent as `resolve` would).
    func follow(prompt: String, key: String) async -> Resolution {
        if let shared = await joinRunning(key: key) { return shared }
        return await resolve(prompt: prompt, key: key)
    }

    /// Joins the request under way for `key`; nil when there is none any more.
    func joinRunning(key: String) async -> Resolution? {
        let shared: Resolution? = await withCheckedContinuation { (continuation: CheckedContinuation<Resolution?, Never>) in
            let over = state.withLock { s -> Bool in
                guard s.waiters[key] != nil else { return true }
                s.waiters[key]!.append(continuation)
                return false
            }
            if over { continuation.resume(returning: nil) }
        }
        if case .answered? = shared { counters.update { $0.dedupeSaved += 1 } }
        return shared
    }

    /// nil: this record leads (sends the request); else the leader's outcome, shared.
    func joinIdentical(key: String) async -> Resolution? {
        let shared: Resolution? = await withCheckedContinuation { (continuation: CheckedContinuation<Resolution?, Never>) in
            let leader = state.withLock { s -> Bool in
                if s.waiters[key] != nil {
                    s.waiters[key]!.append(continuation)
                    return false
                }
                s.waiters[key] = []
                return true
            }
            if leader { continuation.resume(returning: nil) }
        }
        if case .answered? = shared { counters.update { $0.dedupeSaved += 1 } }
        return shared
    }

    func shareWithIdentical(key: String, _ resolution: Resolution) {
        let followers = state.withLock { $0.waiters.removeValue(forKey: key) ?? [] }
        guard !followers.isEmpty else { return }
        let forFollowers: Resolution
        switch resolution {
        case .answered(let r, _, _, let tier, _): forFollowers = .answered(r, attempts: 0, wasted: TokenUsage(), tier: tier, shared: true)
        case .failed(let e, _, _): forFollowers = .failed(e, attempts: 0, wasted: TokenUsage())
        case .pending: forFollowers = .pending
        }
        for f in followers { f.resume(returning: forFollowers) }
    }

    /// One record's request and attempts so far.
    struct Progress {
        var request: GenerationRequest
        let estimate: Int
        var attempts: RecordAttempts
        var wasted = TokenUsage()
        var sent = ContinuousClock.now
    }

    /// What follows an attempt.
    enum Next {
        case done(Resolution)
        /// `budgeted`: the retry counts against the retry budget. Retries after a 429 or a shed
        /// do not: the rate and capacity controllers pace them already, and a budget on top
        /// would starve a job whose first window overshot its quota.
        case retry(after: Double, budgeted: Bool)
    }

    /// The attempt loop for one record's prompt.
    func attempts(prompt: String) async -> Resolution {
        await attempts(request(prompt))
    }

    func request(_ prompt: String) -> GenerationRequest {
        var request = prototype
        request.prompt = prompt
        return request
    }

    /// The attempt loop for one request (a record's, or a pack's).
    func attempts(_ request: GenerationRequest) async -> Resolution {
        var progress = start(request)
        while true {
            await acquirePermit()
            guard await admit(tokens: progress.estimate, tier: progress.request.tier) else {
                releasePermit()
                return .pending
            }
            beginAttempt(&progress)
            let result = await client.generate(progress.request)
            // Booked before the permit goes: a 429's pause must be in force before the next
            // record can take the permit and pass `admit`.
            let next = conclude(result, &progress)
            releasePermit()
            switch next {
            case .done(let resolution):
                return resolution
            case .retry(let delay, let budgeted):
                if delay > 0 { try? await Task.sleep(for: .milliseconds(Int64(delay * 1000))) }
                if budgeted {
                    guard await retryAllowed(progress) else { return .pending }
                } else if stop.isSet {
                    return .pending
                }
            }
        }
    }

    func start(_ request: GenerationRequest) -> Progress {
        state.withLock { $0.bound.prompt(bytes: request.prompt.utf8.count) }
        return Progress(request: request, estimate: (TokenEstimate.characters(request.prompt) + systemCharacters + 3) / 4,
                        attempts: RecordAttempts(policy: policy, tier: request.tier, now: now))
    }

    func beginAttempt(_ progress: inout Progress) {
        progress.attempts.begin()
        progress.sent = ContinuousClock.now
        counters.update { $0.requests += 1 }
        state.withLock { $0.retries.recordRequest(now: now) }
    }

    /// Books an attempt's outcome (limit, rates, cost, counters) and decides what follows.
    func conclude(_ result: Result<GenerationResult, ModelError>, _ progress: inout Progress) -> Next {
        let cost = reservedCost(tokens: progress.estimate, tier: progress.request.tier)
        switch result {
        case .success(let answer):
            return .done(answered(answer, progress, reservedCost: cost))
        case .failure(let error):
            return failed(error, &progress, reservedCost: cost)
        }
    }

    func answered(_ answer: GenerationResult, _ progress: Progress, reservedCost cost: Double) -> Resolution {
        let tier = answer.servedTier ?? progress.request.tier
        let actual = prices.cost(model: prototype.model, tier: tier, usage: answer.usage) ?? 0
        let estimate = progress.estimate
        let seconds = (ContinuousClock.now - progress.sent).seconds
        let (grown, limitNow) = state.withLock { s -> ([CheckedContinuation<Void, Never>], Int) in
            let t = now
            s.bound.answered(latency: seconds)
            s.rates.answered(estimatedTokens: estimate, actualTokens: answer.usage.input, now: t)
            s.updateLimit()
            s.reserved -= cost
            s.spent += actual
            s.answersSeen += 1
            s.averageOutput += (Double(answer.usage.output + answer.usage.thought) - s.averageOutput) / Double(min(s.answersSeen, 100))
            return (s.grantPermits(), s.limit)
        }
        for w in grown { w.resume() }
        let fellBack = progress.request.tier != prototype.tier
        counters.update {
            $0.limit = limitNow
            $0.usage += answer.usage
            $0.usageByTier[tier, default: TokenUsage()] += answer.usage
            $0.answersByTier[tier, default: 0] += 1
            $0.latency.record(seconds)
            if fellBack { $0.fallbacks += 1 }
        }
        return .answered(answer, attempts: progress.attempts.attempt, wasted: progress.wasted, tier: tier, shared: false)
    }

    func failed(_ error: ModelError, _ progress: inout Progress, reservedCost cost: Double) -> Next {
        let used = error.usage ?? TokenUsage()
        progress.wasted += used
        let tier = progress.request.tier
        let usedCost = prices.cost(model: prototype.model, tier: tier, usage: used) ?? 0
        let sent = progress.sent
        // The limit, when it went down; a note when the pace changed.
        let (lowered, paced) = state.withLock { s -> (Int?, String?) in
            s.reserved -= cost
            s.spent += usedCost
            let t = now
            let before = s.limit
            var pacedNote: String?
            switch error.kind {
            case .shed:
                s.capacity.shed(now: t, inFlight: s.onWire + 1)
            case .rateLimited:
                let pace = s.rates.requests?.perMinute
                s.rates.rateLimited(error, sentAt: (sent - started).seconds, now: t)
                if let after = s.rates.requests, after.perMinute != pace {
                    pacedNote = "pacing at \(Int(after.perMinute)) requests per minute (\(after.source.rawValue)); paused \(String(format: "%.2f", s.rates.pausedUntil - t)) s"
                }
            default:
                break
            }
            s.updateLimit()
            return (s.limit < before ? s.limit : nil, pacedNote)
        }
        if let paced { logger.info("\(paced)") }
        counters.update {
            $0.usage += used
            $0.usageByTier[tier, default: TokenUsage()] += used
            if error.kind == .shed { $0.shed += 1 }
            if error.kind == .rateLimited { $0.rateLimited += 1 }
            if let lowered { $0.limit = lowered }
        }
        let action = progress.attempts.failed(error, now: now, uniform: Double.random(in: 0..<1), stopping: stop.isSet)
        switch action {
        case .stopRun(let reason):
            stop.stop(reason)
            return .done(.pending)
        case .leavePending(let waitBudget):
            if waitBudget { counters.update { $0.waitBudgetExceeded += 1 } }
            return .done(.pending)
        case .giveUp:
            return .done(.failed(error, attempts: progress.attempts.attempt, wasted: progress.wasted))
        case .retry(let delay, let tier):
            if tier != progress.request.tier {
                logger.info("falling back to \(tier.rawValue) after \(progress.attempts.shedCount) shed attempts")
                progress.request.tier = tier
            }
            counters.update { $0.retries += 1 }
            logger.debug("attempt \(progress.attempts.attempt) failed (\(error)); retrying in \(String(format: "%.2f", delay)) s")
            return .retry(after: delay, budgeted: error.kind != .rateLimited && error.kind != .shed)
        }
    }

    /// The retry budget: waits (not fails) while retries would exceed their share. With nothing
    /// on the wire a retry is always allowed: idling is not hammering. False when the record
    /// must stay pending (stop, wait budget).
    func retryAllowed(_ progress: Progress) async -> Bool {
        while !state.withLock({ $0.onWire == 0 || $0.retries.tryRetry(now: now) }) {
            if stop.isSet { return false }
            if progress.attempts.outOfTime(now: now) {
                counters.update { $0.waitBudgetExceeded += 1 }
                return false
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
        return !stop.isSet
    }

    /// Waits for the request's slot in the rate schedule, and checks the cost cap; false when
    /// the run is stopping. A slot voided while waiting (the rate fell, a 429 paused sending)
    /// is reserved again.
    func admit(tokens: Int, tier: ServiceTier) async -> Bool {
        var slot = state.withLock { $0.rates.reserve(tokens: tokens, now: now) }
        while true {
            if stop.isSet { return false }
            let wait = slot.at - now
            if wait > 0 {
                // In steps of at most a second, so a stop is seen while waiting.
                try? await Task.sleep(for: .milliseconds(Int64(min(wait, 1) * 1000) + 1))
                continue
            }
            let again = state.withLock { s -> RateController.Slot? in
                let t = now
                guard s.rates.valid(slot, now: t) else { return s.rates.reserve(tokens: tokens, now: t) }
                s.rates.sent(now: t)
                s.capacity.sent(now: t)
                return nil
            }
            guard let again else { break }
            slot = again
        }
        if let cap = policy.maxCost {
            let cost = reservedCost(tokens: tokens, tier: tier)
            let over = state.withLock { s -> Bool in
                if s.spent + s.reserved + cost > cap { return true }
                s.reserved += cost
                return false
            }
            if over {
                stop.stop(.budget(cap: cap))
                return false
            }
        }
        return true
    }

    /// Expected cost of one request: estimated input plus the average output seen so far.
    func reservedCost(tokens: Int, tier: ServiceTier) -> Double {
        guard policy.maxCost != nil else { return 0 }
        let output = state.withLock { $0.averageOutput }
        return prices.cost(model: prototype.model, tier: tier, usage: TokenUsage(input: tokens, output: Int(output))) ?? 0
    }
}
