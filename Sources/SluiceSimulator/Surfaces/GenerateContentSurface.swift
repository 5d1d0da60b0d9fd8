import SluiceJSON

/// `POST /v1beta/models/{model}:generateContent` and `:countTokens`: proto-JSON bodies
/// (camelCase, snake_case accepted) and google.rpc.Status errors.
struct GenerateContentSurface: SimulatedSurface {
    static let topLevelKeys: Set<String> = [
        "contents", "systemInstruction", "generationConfig", "serviceTier", "safetySettings", "tools", "toolConfig",
        "cachedContent", "labels", "store", "model",
    ]
    static let generationConfigKeys: Set<String> = [
        "temperature", "topP", "topK", "candidateCount", "maxOutputTokens", "stopSequences", "seed", "presencePenalty",
        "frequencyPenalty", "responseMimeType", "responseSchema", "responseJsonSchema", "responseModalities",
        "mediaResolution", "thinkingConfig", "responseLogprobs", "logprobs", "speechConfig", "imageConfig",
        "enableEnhancedCivicAnswers", "audioTimestamp",
    ]
    static let partKeys: Set<String> = [
        "text", "inlineData", "fileData", "thought", "thoughtSignature", "functionCall", "functionResponse",
        "executableCode", "codeExecutionResult", "videoMetadata", "mediaResolution",
    ]

    static func reject(_ status: Int, _ message: String, field: String? = nil) -> SurfaceRejection {
        let details = status == 400 ? [ErrorEnvelope.badRequest(field: field, description: message)] : []
        return SurfaceRejection(response: ErrorEnvelope.rpc(status, message: message, details: details))
    }

    /// proto-JSON accepts both spellings of a field name: `generation_config` is `generationConfig`.
    static func camel(_ key: String) -> String {
        guard key.contains("_") else { return key }
        var out = ""
        var upper = false
        for ch in key {
            if ch == "_" { upper = true; continue }
            out.append(upper ? Character(ch.uppercased()) : ch)
            upper = false
        }
        return out
    }

    /// An object's members under their camelCase names, refusing names the message lacks.
    static func fields(_ value: JSONValue, allowed: Set<String>, at path: String?) throws(SurfaceRejection) -> [String: JSONValue] {
        guard case .object(let o) = value else {
            throw reject(400, "Invalid JSON payload received. Expected an object\(path.map { " at '\($0)'" } ?? "").", field: path)
        }
        var out: [String: JSONValue] = [:]
        for member in o {
            let name = camel(member.key)
            guard allowed.contains(name) else {
                let at = path.map { " at '\($0)'" } ?? ""
                throw reject(400, "Invalid JSON payload received. Unknown name \"\(member.key)\"\(at): Cannot find field.", field: path)
            }
            out[name] = member.value
        }
        return out
    }

    static func parseTier(_ value: JSONValue) throws(SurfaceRejection) -> ServiceTier {
        let raw = value.stringValue ?? JSONWriter.string(value)
        var name = raw.lowercased()
        if name.hasPrefix("service_tier_") { name.removeFirst("service_tier_".count) }
        if name == "unspecified" { return .standard }
        guard let tier = ServiceTier(rawValue: name) else {
            throw reject(400, "Invalid value at 'service_tier' (type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentRequest.ServiceTier), \"\(raw)\"", field: "service_tier")
        }
        return tier
    }

    /// Text of the `user` turns (or of a system instruction), newline-joined.
    static func contentsText(_ value: JSONValue, at path: String, userOnly: Bool) throws(SurfaceRejection) -> String {
        let list: [JSONValue] = value.arrayValue ?? [value]
        var texts: [String] = []
        for (i, content) in list.enumerated() {
            let here = value.arrayValue == nil ? path : "\(path)[\(i)]"
            let c = try fields(content, allowed: ["role", "parts"], at: here)
            let role = c["role"]?.stringValue ?? "user"
            guard role == "user" || role == "model" else { throw reject(400, "Please use a valid role: user, model.", field: "\(here).role") }
            guard let parts = c["parts"]?.arrayValue, !parts.isEmpty else {
                throw reject(400, "Request has empty input.", field: "\(here).parts")
            }
            for (j, part) in parts.enumerated() {
                let p = try fields(part, allowed: partKeys, at: "\(here).parts[\(j)]")
                if let text = p["text"]?.stringValue, role == "user" || !userOnly { texts.append(text) }
            }
        }
        return texts.joined(separator: "\n")
    }

    static func parse(_ body: JSONValue, model: String) throws(SurfaceRejection) -> ModelCall {
        let f = try fields(body, allowed: topLevelKeys, at: nil)
        guard let contents = f["contents"], !(contents.arrayValue?.isEmpty ?? false) else {
            throw reject(400, "* GenerateContentRequest.contents: contents is not specified\n", field: "contents")
        }
        let prompt = try contentsText(contents, at: "contents", userOnly: true)
        let system = try f["systemInstruction"].map { v throws(SurfaceRejection) in try contentsText(v, at: "system_instruction", userOnly: false) }
        let tier = try f["serviceTier"].map { v throws(SurfaceRejection) in try parseTier(v) } ?? .standard
        var schema: JSONValue?
        var maxOutput: Int?
        var thinking: String?
        if let g = f["generationConfig"] {
            let gc = try fields(g, allowed: generationConfigKeys, at: "generation_config")
            if let m = gc["maxOutputTokens"] {
                guard let n = m.intValue, n > 0 else { throw reject(400, "max_output_tokens must be positive.", field: "generation_config.max_output_tokens") }
                maxOutput = n
            }
            let mime = gc["responseMimeType"]?.stringValue ?? "text/plain"
            guard ["text/plain", "application/json", "text/x.enum"].contains(mime) else {
                throw reject(400, "* GenerateContentRequest.generation_config.response_mime_type: allowed mimetypes are `text/plain`, `application/json`, `application/xml`, `application/yaml` and `text/x.enum`.\n", field: "generation_config.response_mime_type")
            }
            if gc["responseSchema"] != nil, gc["responseJsonSchema"] != nil {
                throw reject(400, "response_schema and response_json_schema cannot both be set.", field: "generation_config")
            }
            let given = gc["responseJsonSchema"] ?? gc["responseSchema"]
            if given != nil, mime == "text/plain" {
                throw reject(400, "* GenerateContentRequest.generation_config.response_schema: response_mime_type must be `application/json` or `text/x.enum` when a response schema is set.\n", field: "generation_config.response_mime_type")
            }
            if mime == "application/json" { schema = given ?? ["type": "object"] }
            if mime == "text/x.enum" { schema = given.map { ["type": "string", "enum": $0["enum"] ?? []] } }
            if let t = gc["thinkingConfig"] {
                let tc = try fields(t, allowed: ["thinkingBudget", "thinkingLevel", "includeThoughts"], at: "generation_config.thinking_config")
                if tc["thinkingBudget"] != nil, tc["thinkingLevel"] != nil {
                    throw reject(400, "You can only set one of thinking budget and thinking level.", field: "generation_config.thinking_config")
                }
                if let level = tc["thinkingLevel"]?.stringValue {
                    guard ["minimal", "low", "medium", "high"].contains(level.lowercased()) else {
                        throw reject(400, "Invalid value at 'generation_config.thinking_config.thinking_level', \"\(level)\"", field: "generation_config.thinking_config.thinking_level")
                    }
                    thinking = level.lowercased()
                }
                if tc["thinkingBudget"]?.intValue == 0 { thinking = "minimal" }
            }
        }
        return ModelCall(surface: .generateContent, model: model, prompt: prompt, system: system, schema: schema, tier: tier,
                         maxOutputTokens: maxOutput, thinkingLevel: thinking, stream: false, continuationToken: nil)
    }

    /// `:countTokens` accepts `contents` or a wrapped `generateContentRequest`.
    static func countTokens(_ body: JSONValue) throws(SurfaceRejection) -> Int {
        let f = try fields(body, allowed: ["contents", "generateContentRequest"], at: nil)
        if let inner = f["generateContentRequest"] {
            let call = try parse(inner, model: "")
            return call.inputTokens
        }
        guard let contents = f["contents"] else { throw reject(400, "* CountTokensRequest.contents: contents is not specified\n", field: "contents") }
        return AnswerGenerator.tokens(try contentsText(contents, at: "contents", userOnly: false))
    }

    static func response(model: String, text: String?, finishReason: String?, usage: Usage, tier: ServiceTier, responseID: String,
                         safetyBlocked: Bool = false, promptBlocked: Bool = false) -> JSONValue {
        var o = JSONObject()
        if promptBlocked {
            o["promptFeedback"] = [
                "blockReason": "SAFETY",
                "safetyRatings": [["category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH", "blocked": true]],
            ]
        } else {
            var candidate = JSONObject()
            if let text { candidate["content"] = ["role": "model", "parts": [["text": .string(text)]]] }
            else if !safetyBlocked { candidate["content"] = ["role": "model"] }
            candidate["finishReason"] = .string(finishReason ?? "STOP")
            candidate["index"] = 0
            if safetyBlocked {
                candidate["safetyRatings"] = [["category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": true]]
            }
            o["candidates"] = [.object(candidate)]
        }
        o["usageMetadata"] = usage.generateContentJSON(tier: tier)
        o["modelVersion"] = .string(model)
        o["responseId"] = .string(responseID)
        return .object(o)
    }
}
