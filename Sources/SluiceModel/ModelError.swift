/// Why a call to a model did not produce an answer, classified for the retry policy (each
/// provider maps its own statuses and codes onto these kinds).
public struct ModelError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// 503 / `service_unavailable`: Flex capacity is short, come back later.
        case shed
        /// Per-minute rate limit (429 with details, `rate_limit_exceeded`, `too_many_requests`).
        case rateLimited
        /// 408, 500, 502, 504 and other transient server faults.
        case transient
        /// The connection failed or the body was cut: the answer may or may not have been billed.
        case transport
        /// No response within the request timeout.
        case timeout
        /// The daily quota is spent: stop sending until it resets; the job is resumable.
        case dailyQuota
        /// Billing exhausted (429 without details, 402): not retryable.
        case billing
        /// The request itself is wrong (400, 401, 403, 404…): retrying cannot help.
        case invalidRequest
        /// The prompt or the answer was blocked for safety; `message` says why.
        case blocked
        /// The answer came back but is unusable (not JSON where a schema asked for it, empty…).
        case badAnswer
        /// The server's identity could not be verified (its TLS certificate is not trusted, or
        /// not for this host): no retry can help, and nothing may be sent to it.
        case untrustedServer
    }

    public var kind: Kind
    public var status: Int?
    /// The service's own code (`rate_limit_exceeded`, `RESOURCE_EXHAUSTED`…).
    public var code: String?
    public var message: String
    /// Delay the service asked for (`RetryInfo.retryDelay`, `Retry-After`), in seconds.
    public var retryAfter: Double?
    /// Tokens billed for an answer that was served but unusable.
    public var usage: TokenUsage?
    /// The quota a rate-limit error names (its id and the limit per window), when it names one:
    /// the rate to pace just under.
    public var quota: Quota?

    public struct Quota: Sendable, Equatable {
        /// e.g. `GenerateRequestsPerMinutePerProjectPerModel`.
        public var id: String
        public var limit: Int?

        public init(id: String, limit: Int?) {
            self.id = id
            self.limit = limit
        }
    }

    public init(_ kind: Kind, status: Int? = nil, code: String? = nil, message: String, retryAfter: Double? = nil, usage: TokenUsage? = nil) {
        self.kind = kind
        self.status = status
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
        self.usage = usage
    }

    /// Whether another attempt of the same request may succeed.
    public var isRetryable: Bool {
        switch kind {
        case .shed, .rateLimited, .transient, .transport, .timeout, .badAnswer: true
        case .dailyQuota, .billing, .invalidRequest, .blocked, .untrustedServer: false
        }
    }

    public var description: String {
        var parts: [String] = []
        if let status { parts.append("HTTP \(status)") }
        if let code { parts.append(code) }
        let head = parts.isEmpty ? kind.rawValue : parts.joined(separator: " ")
        return "\(head): \(message)"
    }
}
