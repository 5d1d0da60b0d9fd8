import Foundation
import SluiceJSON
import Synchronization

/// The simulated Gemini service, independent of any transport: `handle` takes a fully read
/// request and returns the response and how to deliver it. `SimulatorServer` puts it on a socket.
public final class Simulator: Sendable {
    public let configuration: SimulatorConfiguration
    let scheduler: FlexScheduler
    let arrivalGate: ArrivalGate?
    let started = ContinuousClock.now
    let state: Mutex<State>
    private let transportState = Mutex(TransportStats())
    let batch = Mutex(BatchState())
    /// Wall-clock time of `started`, for the timestamps the Batch API shows.
    let startedAt = Date()

    struct State: Sendable {
        var stats = SimulatorStats()
        var limits: RateLimitState
        var events: [SimulatorEvent] = []
        var eventsDropped = 0
        var sequence = 0
        var countTokensCalls = 0
    }

    public init(configuration: SimulatorConfiguration = SimulatorConfiguration()) {
        self.configuration = configuration
        scheduler = FlexScheduler(configuration: configuration)
        arrivalGate = configuration.holdUntilArrivals.map { ArrivalGate(count: $0, timeout: .seconds(configuration.arrivalHoldTimeout)) }
        state = Mutex(State(limits: RateLimitState(limits: configuration.rateLimits.scaled(by: configuration.timeScale))))
    }

    var elapsed: Double {
        let d = ContinuousClock.now - started
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// What the simulator saw so far.
    public func stats() -> SimulatorStats { state.withLock { $0.stats } }

    /// What the transport carried: connections, protocols, HTTP/2 streams.
    public func transportStats() -> TransportStats { transportState.withLock { $0 } }

    func recordTransport<R>(_ update: (inout TransportStats) -> R) -> R { transportState.withLock { update(&$0) } }

    /// The recent requests, oldest first (at most `eventLogLimit`).
    public func events() -> [SimulatorEvent] { state.withLock { $0.events } }

    /// Forgets stats, events and quota usage (the queue and in-flight requests are untouched).
    public func reset() {
        state.withLock {
            $0.stats = SimulatorStats()
            $0.events = []
            $0.eventsDropped = 0
            $0.limits = RateLimitState(limits: configuration.rateLimits.scaled(by: configuration.timeScale))
        }
        transportState.withLock { $0.reset() }
    }

    /// `GET /_sim/stats`: counters plus the live queue of each tier (`prompts`: and the
    /// counters of every prompt; `GET /_sim/stats?prompts=0` leaves them out).
    public func statsJSON(prompts: Bool = true) -> JSONValue {
        scheduler.applySchedule(elapsed: elapsed)
        guard case .object(var o) = stats().json(prompts: prompts) else { return .null }
        var tiers = JSONObject()
        for (tier, snap) in scheduler.snapshot().sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            tiers[tier.rawValue] = [
                "capacity": JSONValue(snap.capacity), "queue_limit": JSONValue(snap.queueLimit),
                "in_service": JSONValue(snap.inService), "queued": JSONValue(snap.queued),
                "peak_queued": JSONValue(snap.peakQueued), "served": JSONValue(snap.served), "shed": JSONValue(snap.shed),
                "evicted": JSONValue(snap.evicted),
            ]
        }
        o["queues"] = .object(tiers)
        o["transport"] = transportStats().json
        o["count_tokens_calls"] = JSONValue(state.withLock { $0.countTokensCalls })
        o["uptime_seconds"] = JSONValue(elapsed)
        o["batch"] = batchStatsJSON()
        return .object(o)
    }

    // MARK: - Routing

    public func handle(_ request: SimHTTPRequest) async -> SimHTTPResponse {
        let path = request.path
        if path.hasPrefix("/_sim/") { return control(request) }
        if let response = await batchRoute(request) { return response }
        if request.method == "POST", path == "/v1beta/interactions" {
            return counted(await modelCall(request, surface: .interactions, model: nil))
        }
        if path.hasPrefix("/v1beta/interactions/") {
            guard authorized(request) == nil else { return ErrorEnvelope.interactions(401, code: "authentication", message: "API key not valid. Please pass a valid API key.") }
            let id = path.dropFirst("/v1beta/interactions/".count)
            return ErrorEnvelope.interactions(404, code: "not_found", message: "Interaction '\(id)' not found (the simulator does not store interactions).")
        }
        if request.method == "POST", path.hasPrefix("/v1beta/models/"), let colon = path.lastIndex(of: ":") {
            let model = String(path[path.index(path.startIndex, offsetBy: "/v1beta/models/".count)..<colon])
            switch path[path.index(after: colon)...] {
            case "generateContent": return counted(await modelCall(request, surface: .generateContent, model: model))
            case "countTokens": return countTokens(request, model: model)
            default: break
            }
        }
        return ErrorEnvelope.rpc(404, message: "Method not found: \(request.method) \(path)")
    }

    /// Counts a model call's response by status.
    func counted(_ response: SimHTTPResponse) -> SimHTTPResponse {
        state.withLock { $0.stats.responsesByStatus[response.status, default: 0] += 1 }
        return response
    }

    func control(_ request: SimHTTPRequest) -> SimHTTPResponse {
        switch (request.method, request.path) {
        case ("GET", "/_sim/stats"): return .json(200, statsJSON(prompts: request.query["prompts"] != "0"))
        case ("GET", "/_sim/requests"):
            let (events, dropped) = state.withLock { ($0.events, $0.eventsDropped) }
            return .json(200, ["requests": .array(events.map(\.json)), "dropped": JSONValue(dropped)])
        case ("POST", "/_sim/reset"):
            reset()
            return .json(200, ["reset": true])
        default:
            return .json(404, ["error": .string("no such simulator control endpoint: \(request.method) \(request.path)")])
        }
    }

    // MARK: - Auth

    enum AuthFailure { case missing, invalid }

    func authorized(_ request: SimHTTPRequest) -> AuthFailure? {
        guard let key = request.headers["x-goog-api-key"] ?? request.query["key"], !key.isEmpty else { return .missing }
        if configuration.acceptAnyKey || configuration.apiKeys.contains(key) { return nil }
        return .invalid
    }

    func authError(_ failure: AuthFailure, surface: ModelCall.Surface) -> SimHTTPResponse {
        surface.simulated.failure(failure == .missing ? .missingKey : .invalidKey, headers: [])
    }

    // MARK: - Model calls

    func countTokens(_ request: SimHTTPRequest, model: String) -> SimHTTPResponse {
        if let failure = authorized(request) { return authError(failure, surface: .generateContent) }
        guard let body = try? JSONParser.parse(request.body) else {
            return ErrorEnvelope.rpc(400, message: "Invalid JSON payload received.")
        }
        do {
            let tokens = try GenerateContentSurface.countTokens(body)
            state.withLock { $0.countTokensCalls += 1 }
            return .json(200, ["totalTokens": JSONValue(tokens), "promptTokensDetails": [["modality": "TEXT", "tokenCount": JSONValue(tokens)]]])
        } catch {
            return error.response
        }
    }

    func modelCall(_ request: SimHTTPRequest, surface: ModelCall.Surface, model pathModel: String?) async -> SimHTTPResponse {
        let arrived = elapsed
        var event = SimulatorEvent(sequence: 0, arrived: arrived, method: request.method, path: request.path, status: 0, outcome: "rejected",
                                   headers: redactedHeaders(request))
        let parsedBody = try? JSONParser.parse(request.body)
        if configuration.captureBodies { event.body = parsedBody }
        let response = await serve(request, surface: surface, pathModel: pathModel, body: parsedBody, event: &event)
        event.status = response.status
        log(event)
        return response
    }

    func redactedHeaders(_ request: SimHTTPRequest) -> [String: String] {
        var headers: [String: String] = [:]
        for (name, value) in request.headers where !["host", "content-length", "connection"].contains(name) {
            headers[name] = name == "x-goog-api-key" ? "<redacted>" : value
        }
        return headers
    }

    func log(_ event: SimulatorEvent) {
        state.withLock { s in
            s.sequence += 1
            var e = event
            e.sequence = s.sequence
            s.events.append(e)
            if s.events.count > configuration.eventLogLimit {
                let excess = s.events.count - configuration.eventLogLimit
                s.events.removeFirst(excess)
                s.eventsDropped += excess
            }
        }
    }

    func serve(_ request: SimHTTPRequest, surface: ModelCall.Surface, pathModel: String?, body: JSONValue?, event: inout SimulatorEvent) async -> SimHTTPResponse {
        let simulated = surface.simulated
        if let failure = authorized(request) {
            state.withLock { $0.stats.rejected += 1 }
            return authError(failure, surface: surface)
        }
        guard let body else {
            state.withLock { $0.stats.rejected += 1 }
            return simulated.failure(.notJSON, headers: [])
        }
        let call: ModelCall
        do {
            call = try simulated.parse(body, pathModel: pathModel)
        } catch {
            state.withLock { $0.stats.rejected += 1 }
            return error.response
        }
        event.promptHash = call.promptHash
        event.requestedTier = call.tier.rawValue
        if configuration.retiredModels.contains(call.model) {
            state.withLock { $0.stats.rejected += 1 }
            let message = "This model \(call.model) is no longer available to new users. Please update your code to use a newer model for the latest features and improvements."
            return simulated.failure(.retiredModel(message), headers: [])
        }
        var continuationOffset = 0
        if let token = call.continuationToken {
            guard let offset = ContinuationToken.offset(token, promptHash: call.promptHash) else {
                state.withLock { $0.stats.rejected += 1 }
                return simulated.failure(.invalidContinuation, headers: [])
            }
            continuationOffset = offset
        }

        let hash = call.promptHash
        let attempt = state.withLock { s in
            let previous = s.stats.prompts[hash]?.requests ?? 0
            s.stats.record(prompt: hash) { $0.requests += 1 }
            return previous
        }
        let fault = FaultPlan.fault(header: request.headers["x-sim-fault"], prompt: call.prompt, rules: configuration.faults,
                                    seed: configuration.seed, promptHash: PromptHash.value(call.prompt), attempt: attempt)
        let tierHeader = [("x-gemini-service-tier", call.tier.rawValue)]

        if let fault, fault.isErrorResponse {
            recordFault(fault, hash: hash)
            event.outcome = fault.rawValue
            return errorResponse(for: fault, call: call, headers: tierHeader)
        }

        let verdict = state.withLock { $0.limits.admit(inputTokens: call.inputTokens, elapsed: elapsed) }
        switch verdict {
        case .allowed: break
        case .perMinute(let metric, let limit, let retryAfter):
            state.withLock { $0.stats.record(prompt: hash) { $0.rateLimited += 1 } }
            event.outcome = "rate_limited"
            return rateLimited(call: call, metric: metric, limit: limit, retryAfter: retryAfter, headers: tierHeader)
        case .perDay(let limit, let retryAfter):
            state.withLock { $0.stats.record(prompt: hash) { $0.rateLimited += 1 } }
            event.outcome = "quota"
            return dailyQuota(call: call, limit: limit, retryAfter: retryAfter, headers: tierHeader)
        }

        await arrivalGate?.pass()
        let servingTier = scheduler.servingTier(for: call.tier)
        event.servedTier = servingTier.rawValue
        let servedHeader = [("x-gemini-service-tier", servingTier.rawValue)]
        if await scheduler.admit(servingTier, elapsed: elapsed) == .shed {
            state.withLock { $0.stats.record(prompt: hash) { $0.shed += 1 } }
            event.outcome = "shed"
            return simulated.failure(.shed, headers: servedHeader)
        }
        var rng = SplitMix64(seed: configuration.seed ^ PromptHash.value(call.prompt) &+ UInt64(attempt) &* 0x9E37_79B9)
        let seconds = configuration.model(for: servingTier).latency.seconds(uniform: rng.unit()) * configuration.timeScale
        let evictedByFault = fault == .evict && servingTier == .flex
        let served = await scheduler.serve(servingTier, seconds: evictedByFault ? seconds / 2 : seconds, evict: evictedByFault)
        state.withLock { $0.stats.serviceSecondsByTier[servingTier.rawValue, default: 0] += evictedByFault ? seconds / 2 : seconds }
        if served == .evicted {
            if evictedByFault { recordFault(.evict, hash: hash) }
            state.withLock { $0.stats.record(prompt: hash) { $0.evicted += 1 } }
            event.outcome = "evicted"
            return simulated.failure(.shed, headers: servedHeader)
        }

        if fault == .drop {
            recordFault(.drop, hash: hash)
            event.outcome = "drop"
            return SimHTTPResponse(status: 0, body: [], delivery: .drop)
        }
        var response = answer(call, fault: fault, servingTier: servingTier, continuationOffset: continuationOffset, attempt: attempt, event: &event)
        response.headers += servedHeader
        switch fault {
        case .truncate:
            recordFault(.truncate, hash: hash)
            event.outcome = "truncate"
            response.delivery = .truncate
        case .slow:
            recordFault(.slow, hash: hash)
            response.delivery = .slowFirstByte(configuration.slowFirstByteSeconds)
        default: break
        }
        return response
    }

    func recordFault(_ fault: FaultKind, hash: String) {
        state.withLock { s in
            s.stats.record(prompt: hash) { $0.faults += 1 }
            s.stats.faultsByKind[fault.rawValue, default: 0] += 1
        }
    }

    func errorResponse(for fault: FaultKind, call: ModelCall, headers: [(String, String)]) -> SimHTTPResponse {
        let surface = call.surface.simulated
        switch fault {
        case .http500: return surface.failure(.internalError, headers: headers)
        case .http503: return surface.failure(.unavailable, headers: headers)
        case .http504: return surface.failure(.deadlineExceeded, headers: headers)
        case .http429:
            // An injected 429 names the configured quota, if there is one; else it is a busy 429
            // with a delay only (a quota it named would be a false rate to pace at).
            guard let rpm = configuration.rateLimits.rpm else {
                return call.surface.simulated.failure(.busy(retryAfter: configuration.faultRetryDelay, retryAfterHeader: configuration.interactionsRetryAfter), headers: headers)
            }
            return rateLimited(call: call, metric: .requests, limit: rpm, retryAfter: configuration.faultRetryDelay, headers: headers)
        case .quota: return dailyQuota(call: call, limit: configuration.rateLimits.rpd ?? 10_000, retryAfter: 21_926, headers: headers)
        case .billing:
            return surface.failure(.billing("Your prepayment credits are depleted. Please go to AI Studio at https://ai.studio/projects to manage your project and billing."), headers: headers)
        default:
            return ErrorEnvelope.rpc(500, message: "unexpected fault \(fault.rawValue)")
        }
    }

    func rateLimited(call: ModelCall, metric: RateLimitState.Metric, limit: Int, retryAfter: Double, headers: [(String, String)]) -> SimHTTPResponse {
        call.surface.simulated.failure(.rateLimited(model: call.model, metric: metric, limit: limit, retryAfter: retryAfter,
                                                    retryAfterHeader: configuration.interactionsRetryAfter), headers: headers)
    }

    func dailyQuota(call: ModelCall, limit: Int, retryAfter: Double, headers: [(String, String)]) -> SimHTTPResponse {
        call.surface.simulated.failure(.dailyQuota(model: call.model, limit: limit, retryAfter: retryAfter), headers: headers)
    }

    /// Builds the served answer, applying decode limits, continuation, max tokens and safety.
    func answer(_ call: ModelCall, fault: FaultKind?, servingTier: ServiceTier, continuationOffset: Int, attempt: Int, event: inout SimulatorEvent) -> SimHTTPResponse {
        let hash = call.promptHash
        let id = "v1_sim" + String(PromptHash.value("\(hash):\(attempt):\(elapsed)"), radix: 36)
        let full: [Character]
        if let pack = PackedAnswer.parse(prompt: call.prompt, schema: call.schema) {
            let packFault = fault.flatMap { PackedAnswer.Fault(rawValue: $0.rawValue) }
            // Counted as a fault; the request is still answered (with a faulty pack).
            if packFault != nil { recordFault(fault!, hash: hash) }
            full = Array(PackedAnswer.answer(items: pack.items, answerSchema: pack.answerSchema, fault: packFault))
        } else {
            full = Array(AnswerGenerator.answer(for: call.prompt, schema: call.schema))
        }
        let thought = continuationOffset == 0 ? AnswerGenerator.thoughtTokens(for: call.prompt, level: call.thinkingLevel) : 0
        let surface = call.surface.simulated

        if fault == .promptBlocked || fault == .safety {
            recordFault(fault!, hash: hash)
            event.outcome = fault!.rawValue
            let usage = Usage(input: call.inputTokens, output: 0, thought: 0)
            billed(usage, hash: hash, tier: servingTier)
            return surface.blocked(promptBlocked: fault == .promptBlocked, call: call, id: id, tier: servingTier, usage: usage)
        }

        // The slice of the answer this hop returns.
        let start = min(continuationOffset, full.count)
        var end = full.count
        var status = "completed"
        var token: String?
        if surface.continues, continuationOffset == 0, fault == .continuation, full.count > 1 {
            end = full.count / 2
        } else if surface.continues, let limit = configuration.decodeLimitTokens, end - start > limit * 4 {
            end = start + limit * 4
        }
        if end < full.count {
            status = "requires_continuation"
            token = ContinuationToken.make(promptHash: hash, offset: end)
        }
        var maxTokens = call.maxOutputTokens
        if fault == .maxTokens { maxTokens = min(maxTokens ?? 3, 3) }
        if let maxTokens, AnswerGenerator.tokens(String(full[start..<end])) > maxTokens {
            end = start + maxTokens * 4
            status = "incomplete"
            token = nil
            if fault == .maxTokens { recordFault(.maxTokens, hash: hash) }
        }
        let text = String(full[start..<end])
        let usage = Usage(input: call.inputTokens, output: AnswerGenerator.tokens(text), thought: thought)
        billed(usage, hash: hash, tier: servingTier)
        event.outcome = status == "completed" ? "answer" : status
        return surface.answer(call: call, id: id, status: status, text: text, usage: usage, tier: servingTier, continuationToken: token)
    }

    func billed(_ usage: Usage, hash: String, tier: ServiceTier) {
        state.withLock { s in
            s.stats.record(prompt: hash) {
                $0.answers += 1
                $0.inputTokens += usage.input
                $0.outputTokens += usage.output
                $0.thoughtTokens += usage.thought
            }
            s.stats.servedByTier[tier.rawValue, default: 0] += 1
        }
    }
}
