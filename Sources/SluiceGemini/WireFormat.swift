import Foundation
import SluiceJSON
import SluiceModel

/// Request bodies and response reading for both surfaces, as gemini-api.md documents them.
public enum WireFormat {
    /// `POST /v1beta/interactions` body: snake_case, `store: false`, unset fields omitted.
    public static func interactionsBody(_ r: GenerationRequest, continuationToken: String? = nil) -> JSONValue {
        var o = JSONObject()
        o["model"] = .string(r.model)
        o["input"] = .string(r.prompt)
        if let system = r.system { o["system_instruction"] = .string(system) }
        var config = JSONObject()
        if let m = r.maxOutputTokens { config["max_output_tokens"] = JSONValue(m) }
        if let t = r.temperature { config["temperature"] = JSONValue(t) }
        if let l = r.thinkingLevel { config["thinking_level"] = .string(l.lowercased()) }
        if !config.isEmpty { o["generation_config"] = .object(config) }
        if let schema = r.schema {
            o["response_format"] = ["type": "text", "mime_type": "application/json", "schema": schema]
        }
        o["service_tier"] = .string(r.tier.rawValue)
        o["store"] = false
        if let continuationToken { o["continuation_token"] = .string(continuationToken) }
        return .object(o)
    }

    /// `POST /v1beta/models/{model}:generateContent` body: camelCase, top-level `serviceTier`.
    public static func generateContentBody(_ r: GenerationRequest) -> JSONValue {
        var o = JSONObject()
        o["contents"] = [["role": "user", "parts": [["text": .string(r.prompt)]]]]
        if let system = r.system { o["systemInstruction"] = ["role": "user", "parts": [["text": .string(system)]]] }
        o["serviceTier"] = .string(r.tier.rawValue)
        var config = JSONObject()
        if let t = r.temperature { config["temperature"] = JSONValue(t) }
        if let m = r.maxOutputTokens { config["maxOutputTokens"] = JSONValue(m) }
        if let schema = r.schema {
            config["responseMimeType"] = "application/json"
            config["responseJsonSchema"] = schema
        }
        if let l = r.thinkingLevel { config["thinkingConfig"] = ["thinkingLevel": .string(l.uppercased())] }
        if !config.isEmpty { o["generationConfig"] = .object(config) }
        return .object(o)
    }

    /// One Interactions response: the text of the trailing model output, its status and usage.
    public struct InteractionHop: Sendable {
        public var text: String
        public var status: String
        public var continuationToken: String?
        public var usage: TokenUsage
        public var outputError: String?
        public var errors: [String]
    }

    /// Reads an interaction as the SDK's `output_text` does: walk `steps` back from the end,
    /// stop at a `user_input`, skip `thought` steps, join the trailing `text` blocks in order.
    public static func readInteraction(_ body: JSONValue) -> InteractionHop {
        var texts: [String] = []
        var outputError: String?
        for step in (body["steps"]?.arrayValue ?? []).reversed() {
            let type = step["type"]?.stringValue
            if type == "user_input" { break }
            if type == "thought" { continue }
            guard type == "model_output" else {
                if !texts.isEmpty { break }
                continue
            }
            if let error = step["error"], outputError == nil {
                outputError = error["message"]?.stringValue ?? JSONWriter.string(error)
            }
            var blockTexts: [String] = []
            for block in (step["content"]?.arrayValue ?? []).reversed() {
                guard block["type"]?.stringValue == "text", let t = block["text"]?.stringValue else {
                    if !blockTexts.isEmpty { break }
                    continue
                }
                blockTexts.append(t)
            }
            texts.append(contentsOf: blockTexts)
        }
        let usage = body["usage"]
        return InteractionHop(
            text: texts.reversed().joined(),
            status: body["status"]?.stringValue ?? "completed",
            continuationToken: body["continuation_token"]?.stringValue,
            usage: TokenUsage(input: usage?["total_input_tokens"]?.intValue ?? 0, output: usage?["total_output_tokens"]?.intValue ?? 0,
                              thought: usage?["total_thought_tokens"]?.intValue ?? 0, cached: usage?["total_cached_tokens"]?.intValue ?? 0),
            outputError: outputError,
            errors: (body["errors"]?.arrayValue ?? []).map { e in
                [e["code"]?.stringValue, e["message"]?.stringValue].compactMap { $0 }.joined(separator: ": ")
            }
        )
    }

    /// Reads a generateContent response: first candidate's non-thought text, finish reason, blocks.
    public static func readGenerateContent(_ body: JSONValue) throws(ModelError) -> (text: String, completion: GenerationResult.Completion, usage: TokenUsage) {
        let meta = body["usageMetadata"]
        let usage = TokenUsage(input: meta?["promptTokenCount"]?.intValue ?? 0, output: meta?["candidatesTokenCount"]?.intValue ?? 0,
                               thought: meta?["thoughtsTokenCount"]?.intValue ?? 0, cached: meta?["cachedContentTokenCount"]?.intValue ?? 0)
        if let reason = body["promptFeedback"]?["blockReason"]?.stringValue {
            throw ModelError(.blocked, code: reason, message: "the prompt was blocked (\(reason))", usage: usage)
        }
        guard let candidate = body["candidates"]?[0] else {
            throw ModelError(.badAnswer, message: "the response has no candidates", usage: usage)
        }
        let finish = candidate["finishReason"]?.stringValue ?? "STOP"
        let text = (candidate["content"]?["parts"]?.arrayValue ?? [])
            .filter { $0["thought"]?.boolValue != true }
            .compactMap { $0["text"]?.stringValue }.joined()
        switch finish {
        case "STOP", "FINISH_REASON_UNSPECIFIED":
            return (text, .complete, usage)
        case "MAX_TOKENS":
            return (text, .truncated, usage)
        case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "LANGUAGE", "IMAGE_SAFETY":
            throw ModelError(.blocked, code: finish, message: "the answer was blocked (finishReason \(finish))", usage: usage)
        default:
            throw ModelError(.badAnswer, code: finish, message: "the answer ended with finishReason \(finish)", usage: usage)
        }
    }

    /// Classifies an HTTP error response of either surface.
    /// The tier a body says served it: generateContent `usageMetadata.serviceTier`, Interactions
    /// `service_tier`.
    public static func servedTier(_ body: JSONValue) -> ServiceTier? {
        let name = body["usageMetadata"]?["serviceTier"]?.stringValue ?? body["service_tier"]?.stringValue
        return name.flatMap { ServiceTier(rawValue: $0.lowercased()) }
    }

    /// "Please retry in 34.28s." / "retry in 1.2 s" / "retry in 500ms" in an error message, in
    /// seconds: Interactions 429s carry no structured delay, only this text.
    public static func retryDelay(inMessage message: String) -> Double? {
        let lower = message.lowercased()
        guard let range = lower.range(of: "retry in ") else { return nil }
        let rest = lower[range.upperBound...]
        let digits = rest.prefix { $0.isNumber || $0 == "." }
        guard let value = Double(digits), value >= 0 else { return nil }
        let unit = rest.dropFirst(digits.count).drop { $0 == " " }
        if unit.hasPrefix("ms") { return value / 1000 }
        if unit.hasPrefix("s") { return value }
        if unit.hasPrefix("m") { return value * 60 }
        return nil
    }

    public static func classifyError(status: Int, body: JSONValue?, retryAfterHeader: String?) -> ModelError {
        let error = body?["error"]
        let message = error?["message"]?.stringValue ?? (body.map(JSONWriter.string) ?? "no body")
        // Interactions: string code. generateContent: numeric code + status + details.
        let stringCode = error?["code"]?.stringValue
        let rpcStatus = error?["status"]?.stringValue
        let code = stringCode ?? rpcStatus
        let details = error?["details"]?.arrayValue ?? []
        var retryAfter: Double? = retryAfterHeader.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        var dailyQuota = false
        var quota: ModelError.Quota?
        for detail in details {
            let type = detail["@type"]?.stringValue ?? ""
            if type.hasSuffix("google.rpc.RetryInfo"), let delay = detail["retryDelay"]?.stringValue {
                let seconds = Double(delay.hasSuffix("s") ? String(delay.dropLast()) : delay)
                retryAfter = max(retryAfter ?? 0, seconds ?? 0)
            }
            if type.hasSuffix("google.rpc.QuotaFailure") {
                for violation in detail["violations"]?.arrayValue ?? [] {
                    let id = violation["quotaId"]?.stringValue ?? ""
                    if id.contains("PerDay") { dailyQuota = true }
                    let value = violation["quotaValue"]?.stringValue.flatMap(Int.init) ?? violation["quotaValue"]?.intValue
                    if quota == nil, !id.isEmpty { quota = ModelError.Quota(id: id, limit: value) }
                }
            }
        }
        if retryAfter == nil, status == 429 || status == 503 { retryAfter = retryDelay(inMessage: message) }
        let kind: ModelError.Kind
        switch status {
        case 429:
            if stringCode == "quota_exceeded" || dailyQuota {
                kind = .dailyQuota
            } else if stringCode == "rate_limit_exceeded" {
                kind = .rateLimited
            } else if stringCode == "too_many_requests" {
                kind = message.lowercased().contains("credit") || message.lowercased().contains("billing") ? .billing : .rateLimited
            } else if stringCode == nil, details.isEmpty {
                kind = .billing
            } else {
                kind = .rateLimited
            }
        case 503: kind = .shed
        case 408, 409, 500, 502, 504: kind = .transient
        case 402: kind = .billing
        default: kind = .invalidRequest
        }
        var classified = ModelError(kind, status: status, code: code, message: message, retryAfter: retryAfter)
        classified.quota = quota
        return classified
    }
}
