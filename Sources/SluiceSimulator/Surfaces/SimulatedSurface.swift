import SluiceJSON

/// What one API surface decides in the simulator: how a request body reads, how each failure
/// is spelled (Interactions' `{"error":{"code":"…"}}` or the RPC envelope with details), and
/// what an answer looks like. The serving path — auth, faults, rate limits, Flex queueing,
/// latency — is the same for both and branches on nothing.
protocol SimulatedSurface: Sendable {
    /// The model call in `body`; `pathModel` is the model named in the URL (generateContent).
    func parse(_ body: JSONValue, pathModel: String?) throws(SurfaceRejection) -> ModelCall
    /// The response for a failure, with `headers` (the tier header) added.
    func failure(_ failure: SurfaceFailure, headers: [(String, String)]) -> SimHTTPResponse
    /// A blocked prompt (`promptBlocked`) or answer (otherwise), billed with `usage`.
    func blocked(promptBlocked: Bool, call: ModelCall, id: String, tier: ServiceTier, usage: Usage) -> SimHTTPResponse
    /// An answer (or one hop of it): `status` completed, requires_continuation or incomplete.
    func answer(call: ModelCall, id: String, status: String, text: String, usage: Usage, tier: ServiceTier, continuationToken: String?) -> SimHTTPResponse
    /// Whether long answers may come in continuation hops (Interactions only).
    var continues: Bool { get }
}

/// The failures both surfaces report, each in its own envelope.
enum SurfaceFailure: Sendable {
    case missingKey, invalidKey
    case notJSON
    case retiredModel(String)
    case internalError, unavailable, deadlineExceeded
    /// 503 from Flex admission (the RPC surface words it as high demand).
    case shed
    case billing(String)
    case rateLimited(model: String, metric: RateLimitState.Metric, limit: Int, retryAfter: Double, retryAfterHeader: Bool)
    /// A 429 that names no quota (Flex answers some when busy): a retry delay only.
    case busy(retryAfter: Double, retryAfterHeader: Bool)
    case dailyQuota(model: String, limit: Int, retryAfter: Double)
    case invalidContinuation
}

extension ModelCall.Surface {
    var simulated: any SimulatedSurface {
        switch self {
        case .interactions: InteractionsSurface()
        case .generateContent: GenerateContentSurface()
        }
    }
}

extension InteractionsSurface {
    var continues: Bool { true }

    func parse(_ body: JSONValue, pathModel: String?) throws(SurfaceRejection) -> ModelCall { try Self.parse(body) }

    func failure(_ failure: SurfaceFailure, headers: [(String, String)]) -> SimHTTPResponse {
        switch failure {
        case .missingKey: ErrorEnvelope.interactions(401, code: "authentication", message: "Missing API key. Pass it in the 'x-goog-api-key' header.", headers: headers)
        case .invalidKey: ErrorEnvelope.interactions(401, code: "authentication", message: "API key not valid. Please pass a valid API key.", headers: headers)
        case .notJSON: ErrorEnvelope.interactions(400, code: "invalid_request", message: "Request body is not valid JSON.", headers: headers)
        case .retiredModel(let message): ErrorEnvelope.interactions(404, code: "not_found", message: message, headers: headers)
        case .internalError: ErrorEnvelope.interactions(500, code: "api_error", message: "An internal error has occurred.", headers: headers)
        case .unavailable, .shed: ErrorEnvelope.interactions(503, code: "service_unavailable", message: "The service is currently unavailable.", headers: headers)
        case .deadlineExceeded: ErrorEnvelope.interactions(504, code: "deadline_exceeded", message: "The request timed out. Please try again.", headers: headers)
        case .billing(let message): ErrorEnvelope.interactions(429, code: "too_many_requests", message: message, headers: headers)
        case .rateLimited(_, _, _, let retryAfter, let withHeader), .busy(let retryAfter, let withHeader):
            // Field reports: the delay comes only in the text ("… Please retry in 1.2s."), unless
            // the simulator is asked to add a Retry-After header too.
            ErrorEnvelope.interactions(429, code: "rate_limit_exceeded", message: "Rate limit exceeded. Please retry in \(ErrorEnvelope.duration(retryAfter)).",
                                       headers: headers + (withHeader ? [("Retry-After", String(Int(retryAfter.rounded(.up))))] : []))
        case .dailyQuota:
            ErrorEnvelope.interactions(429, code: "quota_exceeded", message: "You exceeded your current daily quota. Please check your plan and billing details.", headers: headers)
        case .invalidContinuation: ErrorEnvelope.interactions(400, code: "invalid_request", message: "Invalid 'continuation_token'.", headers: headers)
        }
    }

    func blocked(promptBlocked: Bool, call: ModelCall, id: String, tier: ServiceTier, usage: Usage) -> SimHTTPResponse {
        let body = promptBlocked
            ? Self.interaction(id: id, model: call.model, status: "failed", tier: tier, text: nil, outputError: nil, usage: usage,
                               continuationToken: nil, errors: [["code": "prompt_blocked", "message": "The prompt was blocked: SAFETY."]])
            : Self.interaction(id: id, model: call.model, status: "completed", tier: tier, text: nil,
                               outputError: ["code": 400, "message": "The response was blocked: SAFETY."], usage: usage, continuationToken: nil)
        return .json(200, body)
    }

    func answer(call: ModelCall, id: String, status: String, text: String, usage: Usage, tier: ServiceTier, continuationToken: String?) -> SimHTTPResponse {
        let body = Self.interaction(id: id, model: call.model, status: status, tier: tier, text: text, outputError: nil, usage: usage, continuationToken: continuationToken)
        if call.stream {
            return SimHTTPResponse(status: 200, headers: [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")], body: Self.sse(body))
        }
        return .json(200, body)
    }
}

extension GenerateContentSurface {
    var continues: Bool { false }

    func parse(_ body: JSONValue, pathModel: String?) throws(SurfaceRejection) -> ModelCall { try Self.parse(body, model: pathModel ?? "") }

    func failure(_ failure: SurfaceFailure, headers: [(String, String)]) -> SimHTTPResponse {
        switch failure {
        case .missingKey:
            ErrorEnvelope.rpc(403, message: "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", headers: headers)
        case .invalidKey: ErrorEnvelope.rpc(400, message: "API key not valid. Please pass a valid API key.", details: [ErrorEnvelope.apiKeyInvalid], headers: headers)
        case .notJSON: ErrorEnvelope.rpc(400, message: "Invalid JSON payload received. Unexpected token.", headers: headers)
        case .retiredModel(let message): ErrorEnvelope.rpc(404, message: message, headers: headers)
        case .internalError:
            ErrorEnvelope.rpc(500, message: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting", headers: headers)
        case .unavailable: ErrorEnvelope.rpc(503, message: "The service is currently unavailable.", headers: headers)
        case .shed:
            ErrorEnvelope.rpc(503, message: "This model is currently experiencing high demand. Spikes in demand are usually temporary. Please try again later.", headers: headers)
        case .deadlineExceeded: ErrorEnvelope.rpc(504, message: "The request timed out. Please try again.", headers: headers)
        case .billing(let message): ErrorEnvelope.rpc(429, message: message, headers: headers)
        case .rateLimited(let model, .requests, let limit, let retryAfter, _):
            ErrorEnvelope.quota429(model: model, quotaID: "GenerateRequestsPerMinutePerProjectPerModel",
                                   metric: "generativelanguage.googleapis.com/generate_requests_per_model", limit: limit, retryAfter: retryAfter, headers: headers)
        case .rateLimited(let model, .inputTokens, let limit, let retryAfter, _):
            ErrorEnvelope.quota429(model: model, quotaID: "GenerateContentInputTokensPerModelPerMinute",
                                   metric: "generativelanguage.googleapis.com/generate_content_input_token_count", limit: limit, retryAfter: retryAfter, headers: headers)
        case .busy(let retryAfter, _):
            ErrorEnvelope.rpc(429, message: "Resource has been exhausted (e.g. check quota).",
                              details: [["@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": .string(ErrorEnvelope.duration(retryAfter))]], headers: headers)
        case .dailyQuota(let model, let limit, let retryAfter):
            ErrorEnvelope.quota429(model: model, quotaID: "GenerateRequestsPerDayPerProjectPerModel",
                                   metric: "generativelanguage.googleapis.com/generate_requests_per_model_per_day", limit: limit, retryAfter: retryAfter, headers: headers)
        case .invalidContinuation: ErrorEnvelope.rpc(400, message: "Invalid 'continuation_token'.", headers: headers)
        }
    }

    func blocked(promptBlocked: Bool, call: ModelCall, id: String, tier: ServiceTier, usage: Usage) -> SimHTTPResponse {
        .json(200, Self.response(model: call.model, text: nil, finishReason: "SAFETY", usage: usage, tier: tier, responseID: id,
                                 safetyBlocked: !promptBlocked, promptBlocked: promptBlocked))
    }

    func answer(call: ModelCall, id: String, status: String, text: String, usage: Usage, tier: ServiceTier, continuationToken: String?) -> SimHTTPResponse {
        .json(200, Self.response(model: call.model, text: text.isEmpty ? nil : text, finishReason: status == "incomplete" ? "MAX_TOKENS" : "STOP",
                                 usage: usage, tier: tier, responseID: id))
    }
}
