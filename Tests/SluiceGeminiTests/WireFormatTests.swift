import SluiceGemini
import SluiceJSON
import SluiceModel
import Testing

@Suite("Error classification")
struct ErrorClassificationTests {
    @Test(arguments: [
        (429, #"{"error":{"code":"rate_limit_exceeded","message":"x"}}"#, ModelError.Kind.rateLimited),
        (429, #"{"error":{"code":"quota_exceeded","message":"x"}}"#, .dailyQuota),
        (429, #"{"error":{"code":429,"message":"Your prepayment credits are depleted.","status":"RESOURCE_EXHAUSTED"}}"#, .billing),
        (429, #"{"error":{"code":429,"message":"q","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaId":"GenerateRequestsPerDayPerProjectPerModel"}]}]}}"#, .dailyQuota),
        (503, #"{"error":{"code":"service_unavailable","message":"x"}}"#, .shed),
        (500, #"{"error":{"code":500,"message":"x","status":"INTERNAL"}}"#, .transient),
        (400, #"{"error":{"code":"invalid_request","message":"x"}}"#, .invalidRequest),
    ])
    func classifies(status: Int, body: String, kind: ModelError.Kind) throws {
        #expect(WireFormat.classifyError(status: status, body: try JSONParser.parse(body), retryAfterHeader: nil).kind == kind)
    }

    @Test func retryInfoDelayIsRead() throws {
        let body = try JSONParser.parse(#"{"error":{"code":429,"message":"q","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"34.5s"}]}}"#)
        #expect(WireFormat.classifyError(status: 429, body: body, retryAfterHeader: nil).retryAfter == 34.5)
        #expect(WireFormat.classifyError(status: 503, body: nil, retryAfterHeader: "7").retryAfter == 7)
    }

    @Test func outputTextFollowsTheSDKAlgorithm() throws {
        let body = try JSONParser.parse("""
            {"status":"completed","steps":[{"type":"user_input","content":[{"type":"text","text":"q"}]},{"type":"model_output","content":[{"type":"text","text":"old"}]},
             {"type":"thought","signature":"s"},{"type":"model_output","content":[{"type":"image","data":"x"},{"type":"text","text":"A"},{"type":"text","text":"B"}]}],
             "usage":{"total_input_tokens":3,"total_output_tokens":2,"total_thought_tokens":9}}
            """)
        let hop = WireFormat.readInteraction(body)
        #expect(hop.text == "oldAB")
        #expect(hop.usage == TokenUsage(input: 3, output: 2, thought: 9))
    }
}

/// Retry hints and the tier served, read the ways the two surfaces give them (issue 17).
@Suite("Retry hints and tier served")
struct RetryHintTests {
    @Test(arguments: [
        ("Rate limit exceeded. Please retry in 1.2s.", 1.2 as Double?),
        ("Quota exceeded … Please retry in 34.28123s.", 34.28123),
        ("please Retry in 500ms", 0.5),
        ("retry in 2 s", 2),
        ("retry in 1m", 60),
        ("Rate limit exceeded. Please retry after some time.", nil),
        ("", nil),
    ])
    func delayFromTheMessageText(message: String, seconds: Double?) {
        #expect(WireFormat.retryDelay(inMessage: message) == seconds)
    }

    @Test func interactionsRateLimitTakesItsDelayFromTheText() throws {
        let body = try JSONParser.parse(#"{"error":{"code":"rate_limit_exceeded","message":"Rate limit exceeded. Please retry in 1.25s."}}"#)
        let error = WireFormat.classifyError(status: 429, body: body, retryAfterHeader: nil)
        #expect(error.kind == .rateLimited && error.retryAfter == 1.25)
        // A header wins over the text.
        #expect(WireFormat.classifyError(status: 429, body: body, retryAfterHeader: "3").retryAfter == 3)
    }

    @Test func quotaFailureNamesTheQuotaAndItsLimit() throws {
        let body = try JSONParser.parse(#"{"error":{"code":429,"message":"q","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_requests_per_model","quotaId":"GenerateRequestsPerMinutePerProjectPerModel","quotaValue":"1000"}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"12s"}]}}"#)
        let error = WireFormat.classifyError(status: 429, body: body, retryAfterHeader: nil)
        #expect(error.kind == .rateLimited)
        #expect(error.quota == ModelError.Quota(id: "GenerateRequestsPerMinutePerProjectPerModel", limit: 1000))
        #expect(error.retryAfter == 12)
    }

    @Test func tierServedFromTheBody() throws {
        #expect(WireFormat.servedTier(try JSONParser.parse(#"{"usageMetadata":{"serviceTier":"standard"}}"#)) == .standard)
        #expect(WireFormat.servedTier(try JSONParser.parse(#"{"status":"completed","service_tier":"flex"}"#)) == .flex)
        #expect(WireFormat.servedTier(try JSONParser.parse(#"{"status":"completed"}"#)) == nil)
    }
}

@Suite("Gemini prices")
struct GeminiPricesTests {
    /// 1M input of which 400k cached, 100k output, at flex for gemini-3.5-flash:
    /// (600k × 1.50 + 400k × 0.15 + 100k × 9.00) / 1M × 0.5.
    @Test func cachedInputBillsAtTheCachedRate() {
        let usage = TokenUsage(input: 1_000_000, output: 60_000, thought: 40_000, cached: 400_000)
        let flex = GeminiPrices().cost(model: "gemini-3.5-flash", tier: .flex, usage: usage)!
        #expect(abs(flex - (0.9 + 0.06 + 0.9) * 0.5) < 1e-9)
        // A model without a cached rate bills cached tokens as input.
        let pro = GeminiPrices().cost(model: "gemini-2.5-pro", tier: .standard, usage: TokenUsage(input: 1_000_000, cached: 500_000))!
        #expect(abs(pro - 1.25) < 1e-9)
        #expect(GeminiPrices().cost(model: "no-such-model", tier: .flex, usage: usage) == nil)
    }
}
