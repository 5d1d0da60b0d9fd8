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
