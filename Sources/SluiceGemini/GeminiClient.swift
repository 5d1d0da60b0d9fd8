import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SluiceJSON

/// Calls Gemini over AsyncHTTPClient on either surface: one attempt per `generate` (the caller
/// owns retries), continuation hops followed on Interactions, the answer checked against the schema.
public struct GeminiClient: Sendable {
    public struct Configuration: Sendable {
        /// `https://generativelanguage.googleapis.com`, or a simulator's address.
        public var baseURL: String
        public var apiKey: String
        public var api: GeminiAPI
        /// Whole-request limit, body included: Flex may take 15 minutes before the first byte.
        public var requestTimeout: Duration = .seconds(20 * 60)
        /// Most continuation hops followed for one answer.
        public var maxContinuations = 16

        public init(baseURL: String, apiKey: String, api: GeminiAPI) {
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.apiKey = apiKey
            self.api = api
        }
    }

    public let configuration: Configuration
    let http: HTTPClient

    public init(configuration: Configuration, httpClient: HTTPClient) {
        self.configuration = configuration
        self.http = httpClient
    }

    /// An `HTTPClient` whose pool holds `connections` connections per host, so a wide in-flight
    /// limit is not throttled (or failed with pool timeouts) inside the client.
    /// `requestTimeout` is also the read timeout: a Flex answer may take that long to start.
    public static func makeHTTPClient(connections: Int, requestTimeout: Duration = .seconds(20 * 60)) -> HTTPClient {
        var config = HTTPClient.Configuration()
        config.connectionPool = .init(idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: max(8, connections))
        config.timeout = .init(connect: .seconds(30), read: .nanoseconds(Int64(requestTimeout.seconds * 1e9) + 1_000_000_000))
        config.httpVersion = .automatic
        config.decompression = .enabled(limit: .ratio(200))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    /// The endpoint of a surface for `model`.
    public func url(for model: String) -> String {
        switch configuration.api {
        case .interactions: "\(configuration.baseURL)/v1beta/interactions"
        case .generateContent: "\(configuration.baseURL)/v1beta/models/\(model):generateContent"
        }
    }

    /// One answer for `request`: success, or an error classified for the retry policy.
    public func generate(_ request: GenerationRequest) async -> Result<GenerationResult, GeminiError> {
        switch configuration.api {
        case .generateContent:
            let reply = await post(url(for: request.model), body: WireFormat.generateContentBody(request))
            switch reply {
            case .failure(let error): return .failure(error)
            case .success(let (body, tier)):
                do {
                    let (text, completion, usage) = try WireFormat.readGenerateContent(body)
                    return check(GenerationResult(text: text, completion: completion, usage: usage, servedTier: tier), request)
                } catch {
                    return .failure(error)
                }
            }
        case .interactions:
            var text = ""
            var usage = TokenUsage()
            var token: String?
            var hops = 0
            while true {
                hops += 1
                let reply = await post(url(for: request.model), body: WireFormat.interactionsBody(request, continuationToken: token))
                guard case .success(let (body, tier)) = reply else {
                    if case .failure(var error) = reply {
                        if hops > 1 { error.message += " (on continuation hop \(hops))"; error.usage = usage }
                        return .failure(error)
                    }
                    fatalError("unreachable")
                }
                let hop = WireFormat.readInteraction(body)
                usage += hop.usage
                text += hop.text
                switch hop.status {
                case "completed":
                    if let outputError = hop.outputError {
                        return .failure(GeminiError(.blocked, message: outputError, usage: usage))
                    }
                    return check(GenerationResult(text: text, completion: .complete, usage: usage, servedTier: tier, hops: hops), request)
                case "incomplete", "budget_exceeded":
                    return check(GenerationResult(text: text, completion: .truncated, usage: usage, servedTier: tier, hops: hops), request)
                case "requires_continuation":
                    guard let next = hop.continuationToken, hops <= configuration.maxContinuations else {
                        return .failure(GeminiError(.badAnswer, message: "requires_continuation without a token or after \(hops) hops", usage: usage))
                    }
                    token = next
                default:
                    let why = ([hop.outputError].compactMap { $0 } + hop.errors).joined(separator: "; ")
                    let blocked = hop.errors.contains { $0.contains("blocked") || $0.contains("safety") }
                    return .failure(GeminiError(blocked ? .blocked : .badAnswer, code: hop.status,
                                                message: "interaction \(hop.status)\(why.isEmpty ? "" : ": \(why)")", usage: usage))
                }
            }
        }
    }

    /// Exact input tokens of a request from `:countTokens` (generateContent surface, no generation).
    public func countTokens(_ request: GenerationRequest) async -> Result<Int, GeminiError> {
        var inner = WireFormat.generateContentBody(request).objectValue ?? JSONObject()
        inner["serviceTier"] = nil
        inner["generationConfig"] = nil
        inner["model"] = .string("models/\(request.model)")
        let body: JSONValue = ["generateContentRequest": .object(inner)]
        switch await post("\(configuration.baseURL)/v1beta/models/\(request.model):countTokens", body: body) {
        case .success(let (value, _)):
            guard let total = value["totalTokens"]?.intValue else { return .failure(GeminiError(.badAnswer, message: "countTokens returned no totalTokens")) }
            return .success(total)
        case .failure(let error):
            return .failure(error)
        }
    }

    /// A schema answer must be JSON that conforms; a plain answer must not be empty.
    func check(_ result: GenerationResult, _ request: GenerationRequest) -> Result<GenerationResult, GeminiError> {
        if let schema = request.schema {
            guard result.completion == .complete else {
                return .failure(GeminiError(.badAnswer, code: "MAX_TOKENS", message: "the JSON answer was cut at max_output_tokens", usage: result.usage))
            }
            let value: JSONValue
            do {
                value = try JSONParser.parse(result.text)
            } catch {
                return .failure(GeminiError(.badAnswer, message: "the answer is not valid JSON (\(error))", usage: result.usage))
            }
            if let problem = SchemaCheck.violation(value, schema: schema) {
                return .failure(GeminiError(.badAnswer, message: "the answer does not match the schema: \(problem)", usage: result.usage))
            }
        }
        return .success(result)
    }

    /// POSTs JSON; returns the parsed body and the served tier, or a classified error.
    func post(_ url: String, body: JSONValue) async -> Result<(JSONValue, ServiceTier?), GeminiError> {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "accept", value: "application/json")
        request.headers.add(name: "x-goog-api-key", value: configuration.apiKey)
        request.headers.add(name: "user-agent", value: "sluice/0.1")
        request.body = .bytes(ByteBuffer(bytes: JSONWriter.bytes(body)))
        let timeout = configuration.requestTimeout
        let deadline = NIODeadline.now() + .nanoseconds(Int64(timeout.seconds * 1e9))
        do {
            // One task per request, no timer task beside it: with 10,000 requests in flight every
            // task's frames count. AsyncHTTPClient's deadline covers the wait for the response
            // head; the body is checked against the same deadline chunk by chunk, and a body
            // that stalls entirely meets the client's read timeout (set to the request timeout).
            let response: HTTPClientResponse
            do {
                response = try await http.execute(request, deadline: deadline)
            } catch let error as HTTPClientError where error == .deadlineExceeded {
                throw GeminiError(.timeout, message: "no answer within \(timeout.components.seconds) s")
            }
            var bytes = ByteBuffer()
            for try await chunk in response.body {
                bytes.writeImmutableBuffer(chunk)
                if bytes.readableBytes > 64 << 20 {
                    throw GeminiError(.transport, message: "the response body is larger than 64 MiB")
                }
                if NIODeadline.now() > deadline {
                    throw GeminiError(.timeout, message: "no complete answer within \(timeout.components.seconds) s")
                }
            }
            let status = Int(response.status.code)
            let headers = response.headers
            let tier = headers.first(name: "x-gemini-service-tier").flatMap { ServiceTier(rawValue: $0.lowercased()) }
            let parsed = try? JSONParser.parse(bytes.readableBytesView)
            guard (200..<300).contains(status) else {
                return .failure(WireFormat.classifyError(status: status, body: parsed, retryAfterHeader: headers.first(name: "retry-after")))
            }
            guard let parsed else {
                return .failure(GeminiError(.transport, status: status, message: "the response body is not valid JSON (\(bytes.readableBytes) bytes)"))
            }
            return .success((parsed, tier))
        } catch let error as GeminiError {
            return .failure(error)
        } catch is CancellationError {
            return .failure(GeminiError(.transport, message: "cancelled"))
        } catch let error as HTTPClientError where error == .readTimeout {
            return .failure(GeminiError(.timeout, message: "the connection was idle for \(timeout.components.seconds) s"))
        } catch {
            return .failure(GeminiError(.transport, message: Self.describe(error)))
        }
    }

    /// Transport errors described without echoing request headers (the key never leaves the client).
    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        return text.count > 300 ? String(text.prefix(300)) + "…" : text
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
