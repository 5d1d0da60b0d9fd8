import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import SluiceJSON
import SluiceModel

/// Calls Gemini over AsyncHTTPClient on either surface: one attempt per `generate` (the caller
/// owns retries), continuation hops followed on Interactions, the answer checked against the schema.
public struct GeminiClient: ModelClient {
    public struct Configuration: Sendable {
        /// `https://generativelanguage.googleapis.com`, or a simulator's address.
        public var baseURL: String
        public var apiKey: String
        public var api: GeminiAPI
        /// Whole-request limit, body included: Flex may take 15 minutes before the first byte.
        public var requestTimeout: Duration = .seconds(20 * 60)
        /// Most continuation hops followed for one answer.
        public var maxContinuations = 16
        /// PEM files of certificate authorities trusted besides the system's (a proxy's, a
        /// simulator's): `--ca-file` and `SSL_CERT_FILE`.
        public var extraTrustRoots: [String] = []
        /// Requests one HTTP pool carries at once (`HTTPLanes`).
        public var requestsPerLane = HTTPLanes.defaultPerLane

        public init(baseURL: String, apiKey: String, api: GeminiAPI) {
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.apiKey = apiKey
            self.api = api
        }
    }

    public let configuration: Configuration
    let lanes: HTTPLanes

    public init(configuration: Configuration, lanes: HTTPLanes) {
        self.configuration = configuration
        self.lanes = lanes
    }

    /// A client for the scope of `body`, its HTTP lanes sized for `connections` requests at once
    /// and shut down when `body` returns or throws. Throws `ModelError(.invalidRequest)` naming
    /// the file when a trusted-CA file cannot be read.
    public static func withClient<T: Sendable>(_ configuration: Configuration, connections: Int,
                                               _ body: (GeminiClient) async throws -> T) async throws -> T {
        let lanes = HTTPLanes(configuration: try httpConfiguration(requestTimeout: configuration.requestTimeout,
                                                                  extraTrustRoots: configuration.extraTrustRoots),
                              concurrency: connections, perLane: configuration.requestsPerLane)
        let result: Result<T, any Error>
        do { result = .success(try await body(GeminiClient(configuration: configuration, lanes: lanes))) } catch { result = .failure(error) }
        await lanes.shutdown()
        return try result.get()
    }

    /// The surface the answers come from: a journal is never resumed against the other one.
    public var identity: [(String, String)] { [("api", configuration.api.rawValue)] }

    /// What every lane's `HTTPClient` is made with: HTTP/2 where ALPN offers it, HTTP/1.1
    /// otherwise. `requestTimeout` is also the read timeout: a Flex answer may take that long to
    /// start. `extraTrustRoots` are PEM files trusted besides the system's roots.
    public static func httpConfiguration(requestTimeout: Duration = .seconds(20 * 60), extraTrustRoots: [String] = []) throws -> HTTPClient.Configuration {
        var config = HTTPClient.Configuration()
        config.connectionPool = .init(idleTimeout: .seconds(120))
        // A failed connection fails the requests waiting for it at once, and the record's own
        // retry policy (backoff, counted attempts) decides: the pool's silent retries would
        // hold them until the connect timeout, and retry an untrusted certificate for ever.
        config.connectionPool.retryConnectionEstablishment = false
        config.timeout = .init(connect: .seconds(30), read: .nanoseconds(Int64(requestTimeout.seconds * 1e9) + 1_000_000_000))
        config.httpVersion = .automatic
        config.decompression = .enabled(limit: .ratio(200))
        if !extraTrustRoots.isEmpty {
            var tls = TLSConfiguration.makeClientConfiguration()
            var certificates: [NIOSSLCertificate] = []
            for path in extraTrustRoots {
                do {
                    let found = try NIOSSLCertificate.fromPEMFile(path)
                    guard !found.isEmpty else { throw ModelError(.invalidRequest, message: "\(path): no PEM certificate in the file") }
                    certificates += found
                } catch let error as ModelError {
                    throw error
                } catch {
                    throw ModelError(.invalidRequest, message: "\(path): not a readable PEM certificate file (\(describe(error)))")
                }
            }
            tls.additionalTrustRoots = [.certificates(certificates)]
            config.tlsConfiguration = tls
        }
        return config
    }

    /// The endpoint of a surface for `model`.
    public func url(for model: String) -> String {
        switch configuration.api {
        case .interactions: "\(configuration.baseURL)/v1beta/interactions"
        case .generateContent: "\(configuration.baseURL)/v1beta/models/\(model):generateContent"
        }
    }

    /// One answer for `request`: success, or an error classified for the retry policy. Kept
    /// thin around its awaits (its frame lives as long as the request): building bodies and
    /// reading answers happen in synchronous helpers.
    public func generate(_ request: GenerationRequest) async -> Result<GenerationResult, ModelError> {
        var progress = InteractionProgress()
        while true {
            let reply = await send(url(for: request.model), body: requestBody(request, continuationToken: progress.token))
            if let done = absorb(reply, into: &progress, request) { return done }
        }
    }

    /// Answer text and usage gathered over Interactions continuation hops.
    struct InteractionProgress {
        var text = ""
        var usage = TokenUsage()
        var token: String?
        var hops = 0
    }

    func requestBody(_ request: GenerationRequest, continuationToken: String?) -> [UInt8] {
        switch configuration.api {
        case .generateContent: JSONWriter.bytes(WireFormat.generateContentBody(request))
        case .interactions: JSONWriter.bytes(WireFormat.interactionsBody(request, continuationToken: continuationToken))
        }
    }

    /// Reads one reply: the final result, or nil when a continuation hop follows.
    func absorb(_ reply: Result<HTTPClient.Response, ModelError>, into progress: inout InteractionProgress,
                _ request: GenerationRequest) -> Result<GenerationResult, ModelError>? {
        progress.hops += 1
        let hops = progress.hops
        let interpreted = reply.flatMap(Self.interpret)
        guard case .success(let (body, tier)) = interpreted else {
            if case .failure(var error) = interpreted {
                if hops > 1 { error.message += " (on continuation hop \(hops))"; error.usage = progress.usage }
                return .failure(error)
            }
            return nil
        }
        if configuration.api == .generateContent {
            do {
                let (text, completion, usage) = try WireFormat.readGenerateContent(body)
                return check(GenerationResult(text: text, completion: completion, usage: usage, servedTier: tier), request)
            } catch {
                return .failure(error)
            }
        }
        let hop = WireFormat.readInteraction(body)
        progress.usage += hop.usage
        progress.text += hop.text
        let usage = progress.usage
        switch hop.status {
        case "completed":
            if let outputError = hop.outputError {
                return .failure(ModelError(.blocked, message: outputError, usage: usage))
            }
            return check(GenerationResult(text: progress.text, completion: .complete, usage: usage, servedTier: tier, hops: hops), request)
        case "incomplete", "budget_exceeded":
            return check(GenerationResult(text: progress.text, completion: .truncated, usage: usage, servedTier: tier, hops: hops), request)
        case "requires_continuation":
            guard let next = hop.continuationToken, hops <= configuration.maxContinuations else {
                return .failure(ModelError(.badAnswer, message: "requires_continuation without a token or after \(hops) hops", usage: usage))
            }
            progress.token = next
            return nil
        default:
            let why = ([hop.outputError].compactMap { $0 } + hop.errors).joined(separator: "; ")
            let blocked = hop.errors.contains { $0.contains("blocked") || $0.contains("safety") }
            return .failure(ModelError(blocked ? .blocked : .badAnswer, code: hop.status,
                                        message: "interaction \(hop.status)\(why.isEmpty ? "" : ": \(why)")", usage: usage))
        }
    }

    /// Exact input tokens of a request from `:countTokens` (generateContent surface, no generation).
    public func countTokens(_ request: GenerationRequest) async -> Result<Int, ModelError>? {
        var inner = WireFormat.generateContentBody(request).objectValue ?? JSONObject()
        inner["serviceTier"] = nil
        inner["generationConfig"] = nil
        inner["model"] = .string("models/\(request.model)")
        let body: JSONValue = ["generateContentRequest": .object(inner)]
        switch await post("\(configuration.baseURL)/v1beta/models/\(request.model):countTokens", body: body) {
        case .success(let (value, _)):
            guard let total = value["totalTokens"]?.intValue else { return .failure(ModelError(.badAnswer, message: "countTokens returned no totalTokens")) }
            return .success(total)
        case .failure(let error):
            return .failure(error)
        }
    }

    /// A schema answer must be JSON that conforms; a plain answer must not be empty.
    func check(_ result: GenerationResult, _ request: GenerationRequest) -> Result<GenerationResult, ModelError> {
        if let schema = request.schema, request.checksSchema {
            guard result.completion == .complete else {
                return .failure(ModelError(.badAnswer, code: "MAX_TOKENS", message: "the JSON answer was cut at max_output_tokens", usage: result.usage))
            }
            let value: JSONValue
            do {
                value = try JSONParser.parse(result.text)
            } catch {
                return .failure(ModelError(.badAnswer, message: "the answer is not valid JSON (\(error))", usage: result.usage))
            }
            if let problem = SchemaCheck.violation(value, schema: schema) {
                return .failure(ModelError(.badAnswer, message: "the answer does not match the schema: \(problem)", usage: result.usage))
            }
        }
        return .success(result)
    }

    /// POSTs JSON; returns the parsed body and the served tier, or a classified error.
    func post(_ url: String, body: JSONValue) async -> Result<(JSONValue, ServiceTier?), ModelError> {
        switch await send(url, body: JSONWriter.bytes(body)) {
        case .success(let response): return Self.interpret(response)
        case .failure(let error): return .failure(error)
        }
    }

    /// One HTTP exchange on the future-based API of AsyncHTTPClient, awaited once. With 10,000
    /// requests in flight, every async frame on a request's task counts (the async/await API
    /// stacks about 10 KB of frames per request); here the task holds only this small frame.
    /// The deadline covers the whole exchange, body included; cancelling the task cancels it.
    func send(_ url: String, body: [UInt8]) async -> Result<HTTPClient.Response, ModelError> {
        let lane = lanes.lease()
        defer { lanes.release(lane.index) }
        let started = start(url, body: body, on: lane.client)
        guard case .success(let task) = started else {
            if case .failure(let error) = started { return .failure(error) }
            fatalError("unreachable")
        }
        do {
            return .success(try await withTaskCancellationHandler {
                try await task.futureResult.get()
            } onCancel: {
                task.cancel()
            })
        } catch {
            return .failure(transportError(error))
        }
    }

    func start(_ url: String, body: [UInt8], on http: HTTPClient) -> Result<HTTPClient.Task<HTTPClient.Response>, ModelError> {
        // How long the server may keep a Flex request waiting before it gives up (default 600 s):
        // as long as this client waits, so a queued request is not dropped early.
        let headers = [("content-type", "application/json"), ("accept", "application/json"),
                       ("x-server-timeout", String(Int(configuration.requestTimeout.seconds.rounded(.down))))]
        return request(.POST, url, headers: headers, body: body).map { request in
            http.execute(request: request, delegate: ResponseAccumulator(request: request, maxBodySize: 64 << 20),
                         deadline: .now() + .nanoseconds(Int64(configuration.requestTimeout.seconds * 1e9)))
        }
    }

    /// A request with the client's headers: the key (unless `withKey` is false: an upload
    /// session's URL is its own credential) and the user agent.
    func request(_ method: HTTPMethod, _ url: String, headers extra: [(String, String)] = [], body: [UInt8]? = nil,
                 withKey: Bool = true) -> Result<HTTPClient.Request, ModelError> {
        var headers = HTTPHeaders()
        if withKey { headers.add(name: "x-goog-api-key", value: configuration.apiKey) }
        headers.add(name: "user-agent", value: "sluice/0.1")
        for (name, value) in extra { headers.add(name: name, value: value) }
        do {
            return .success(try HTTPClient.Request(url: url, method: method, headers: headers, body: body.map { .bytes($0) }))
        } catch {
            return .failure(ModelError(.invalidRequest, message: "cannot build a request for \(url): \(Self.describe(error))"))
        }
    }

    func transportError(_ error: any Error) -> ModelError {
        let timeout = configuration.requestTimeout
        do {
            throw error
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            return ModelError(.timeout, message: "no complete answer within \(timeout.components.seconds) s")
        } catch let error as HTTPClientError where error == .readTimeout {
            return ModelError(.timeout, message: "the connection was idle for \(timeout.components.seconds) s")
        } catch let error as HTTPClientError where error == .cancelled {
            return ModelError(.transport, message: "cancelled")
        } catch is ResponseAccumulator.ResponseTooBigError {
            return ModelError(.transport, message: "the response body is larger than 64 MiB")
        } catch let error as NIOSSLExtraError where error == .failedToValidateHostname {
            return ModelError(.untrustedServer, message: "the server's TLS certificate is not for this host (\(Self.describe(error)))")
        } catch NIOSSLError.handshakeFailed(let reason) where "\(reason)".contains("CERTIFICATE_VERIFY_FAILED") {
            return ModelError(.untrustedServer, message: "the server's TLS certificate is not signed by a trusted authority (\(reason))")
        } catch {
            return ModelError(.transport, message: Self.describe(error))
        }
    }

    /// Status, served tier and JSON body of a response, or the classified error it carries.
    static func interpret(_ response: HTTPClient.Response) -> Result<(JSONValue, ServiceTier?), ModelError> {
        let status = Int(response.status.code)
        let headers = response.headers
        let bytes = response.body ?? ByteBuffer()
        let parsed = try? JSONParser.parse(bytes.readableBytesView)
        // The header comes only on non-streaming generateContent; the body says it always
        // (usageMetadata.serviceTier, Interactions service_tier). Bills follow the tier served.
        let tier = headers.first(name: "x-gemini-service-tier").flatMap { ServiceTier(rawValue: $0.lowercased()) }
            ?? parsed.flatMap(WireFormat.servedTier)
        guard (200..<300).contains(status) else {
            return .failure(WireFormat.classifyError(status: status, body: parsed, retryAfterHeader: headers.first(name: "retry-after")))
        }
        guard let parsed else {
            return .failure(ModelError(.transport, status: status, message: "the response body is not valid JSON (\(bytes.readableBytes) bytes)"))
        }
        return .success((parsed, tier))
    }

    /// Transport errors described without echoing request headers (the key never leaves the client).
    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        return text.count > 300 ? String(text.prefix(300)) + "…" : text
    }
}
