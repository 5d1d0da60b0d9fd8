import SluiceJSON

/// What the simulator saw, per prompt hash and in total, so a test can prove that no record was
/// paid for twice and that the client's counts match the server's.
public struct SimulatorStats: Sendable, Equatable {
    /// Counters for one prompt (or for all of them).
    public struct Counters: Sendable, Equatable {
        public var requests = 0
        /// Of `requests`, the lines of batches.
        public var batchRequests = 0
        /// Answers the service delivered and billed (including ones whose body was truncated).
        public var answers = 0
        public var faults = 0
        public var shed = 0
        public var rateLimited = 0
        /// Requests dropped with 503 while in service (a capacity drop, the `evict` fault).
        public var evicted = 0
        public var inputTokens = 0
        public var outputTokens = 0
        public var thoughtTokens = 0

        public init() {}

        var json: JSONValue {
            [
                "requests": JSONValue(requests), "batch_requests": JSONValue(batchRequests), "answers": JSONValue(answers), "faults": JSONValue(faults),
                "shed": JSONValue(shed), "rate_limited": JSONValue(rateLimited), "evicted": JSONValue(evicted),
                "input_tokens": JSONValue(inputTokens), "output_tokens": JSONValue(outputTokens),
                "thought_tokens": JSONValue(thoughtTokens),
            ]
        }
    }

    public var totals = Counters()
    public var prompts: [String: Counters] = [:]
    /// Faults injected, by kind (`503`, `drop`, …), shedding by a full queue not included.
    public var faultsByKind: [String: Int] = [:]
    /// Answers served, by the tier that served them.
    public var servedByTier: [String: Int] = [:]
    /// Requests refused before any work: bad key, invalid body, unknown model.
    public var rejected = 0
    /// Seconds of service time spent, by tier: with the capacity, how busy the service was.
    public var serviceSecondsByTier: [String: Double] = [:]
    /// Responses to model calls by HTTP status (0: the connection was dropped).
    public var responsesByStatus: [Int: Int] = [:]

    public init() {}

    mutating func record(prompt: String, _ update: (inout Counters) -> Void) {
        update(&totals)
        update(&prompts[prompt, default: Counters()])
    }

    /// The body of `GET /_sim/stats` (without the live queue figures).
    public var json: JSONValue { json(prompts: true) }

    /// `prompts`: with the counters of every prompt (a long list in a big run).
    public func json(prompts withPrompts: Bool) -> JSONValue {
        var promptsObject = JSONObject()
        if withPrompts { for key in prompts.keys.sorted() { promptsObject.append(key, prompts[key]!.json) } }
        var statuses = JSONObject()
        for key in responsesByStatus.keys.sorted() { statuses.append(String(key), JSONValue(responsesByStatus[key]!)) }
        var faults = JSONObject()
        for key in faultsByKind.keys.sorted() { faults.append(key, JSONValue(faultsByKind[key]!)) }
        var tiers = JSONObject()
        for key in servedByTier.keys.sorted() { tiers.append(key, JSONValue(servedByTier[key]!)) }
        var service = JSONObject()
        for key in serviceSecondsByTier.keys.sorted() { service.append(key, JSONValue(serviceSecondsByTier[key]!)) }
        return [
            "totals": totals.json, "faults_by_kind": .object(faults), "served_by_tier": .object(tiers),
            "service_seconds_by_tier": .object(service),
            "rejected": JSONValue(rejected), "prompts": .object(promptsObject), "responses_by_status": .object(statuses),
        ]
    }
}

/// One request as the simulator saw it, for `GET /_sim/requests`.
public struct SimulatorEvent: Sendable {
    public var sequence: Int
    /// Seconds since the simulator started, when the request arrived.
    public var arrived: Double
    public var method: String
    public var path: String
    public var promptHash: String?
    public var requestedTier: String?
    public var servedTier: String?
    public var status: Int
    /// `answer`, `shed`, `rate_limited`, `quota`, a fault kind, `rejected` …
    public var outcome: String
    public var body: JSONValue?
    public var headers: [String: String]

    var json: JSONValue {
        var o = JSONObject()
        o["seq"] = JSONValue(sequence)
        o["arrived"] = JSONValue(arrived)
        o["method"] = .string(method)
        o["path"] = .string(path)
        if let promptHash { o["prompt_hash"] = .string(promptHash) }
        if let requestedTier { o["requested_tier"] = .string(requestedTier) }
        if let servedTier { o["served_tier"] = .string(servedTier) }
        o["status"] = JSONValue(status)
        o["outcome"] = .string(outcome)
        var h = JSONObject()
        for key in headers.keys.sorted() { h[key] = .string(headers[key]!) }
        o["headers"] = .object(h)
        if let body { o["body"] = body }
        return .object(o)
    }
}
