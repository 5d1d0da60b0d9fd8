import Foundation
import SluiceJSON

/// `POST /v1beta/interactions`: snake_case bodies, steps-based responses, string error codes.
struct InteractionsSurface: SimulatedSurface {
    static let topLevelKeys: Set<String> = [
        "model", "agent", "input", "system_instruction", "generation_config", "response_format", "service_tier",
        "store", "stream", "background", "previous_interaction_id", "continuation_token", "safety_settings",
        "tools", "labels", "webhook_config", "environment", "cached_content", "agent_config",
    ]
    static let generationConfigKeys: Set<String> = [
        "max_output_tokens", "temperature", "top_p", "seed", "stop_sequences", "thinking_level",
        "thinking_summaries", "tool_choice", "speech_config", "image_config", "video_config", "transcription_config",
    ]
    static let thinkingLevels: Set<String> = ["minimal", "low", "medium", "high", "xhigh"]
    static let stepTypes: Set<String> = ["user_input", "model_output", "thought", "function_call", "function_result"]
    static let blockTypes: Set<String> = ["text", "image", "audio", "video", "document"]

    static func reject(_ status: Int, _ code: String, _ message: String) -> SurfaceRejection {
        SurfaceRejection(response: ErrorEnvelope.interactions(status, code: code, message: message))
    }

    /// Validates a create body the way the service does and extracts what the answer depends on.
    static func parse(_ body: JSONValue) throws(SurfaceRejection) -> ModelCall {
        guard case .object(let o) = body else { throw reject(400, "invalid_request", "Request body must be a JSON object.") }
        for key in o.keys where !topLevelKeys.contains(key) {
            throw reject(400, "invalid_request", "Unknown parameter '\(key)'.")
        }
        guard let model = o["model"]?.stringValue, !model.isEmpty else {
            if o["agent"] != nil { throw reject(400, "invalid_request", "Agents are not available in this simulator.") }
            throw reject(400, "invalid_request", "Missing required parameter 'model'.")
        }
        if o["background"]?.boolValue == true, o["store"]?.boolValue == false {
            throw reject(400, "invalid_request", "'background' requires 'store' to be true.")
        }
        if o["previous_interaction_id"] != nil, o["store"]?.boolValue == false {
            throw reject(400, "invalid_request", "'previous_interaction_id' requires 'store' to be true.")
        }
        guard let input = o["input"] else {
            throw reject(400, "invalid_request", "Missing required parameter 'input'.")
        }
        let prompt = try promptText(input)
        var system: String?
        if let s = o["system_instruction"] {
            guard let text = s.stringValue else {
                throw reject(400, "invalid_request", "Invalid type for 'system_instruction': expected a string.")
            }
            system = text
        }
        var tier = ServiceTier.standard
        if let t = o["service_tier"] {
            guard let name = t.stringValue, let parsed = ServiceTier(rawValue: name) else {
                throw reject(400, "invalid_request", "Invalid value \(t) for 'service_tier'. Expected one of: flex, standard, priority.")
            }
            tier = parsed
        }
        var maxOutput: Int?
        var thinking: String?
        if let g = o["generation_config"] {
            guard case .object(let gc) = g else { throw reject(400, "invalid_request", "Invalid type for 'generation_config'.") }
            for key in gc.keys where !generationConfigKeys.contains(key) {
                throw reject(400, "invalid_request", "Unknown parameter '\(key)' at 'generation_config'.")
            }
            if let m = gc["max_output_tokens"] {
                guard let n = m.intValue, n > 0 else {
                    throw reject(400, "invalid_request", "Invalid value for 'generation_config.max_output_tokens': must be a positive integer.")
                }
                maxOutput = n
            }
            if let l = gc["thinking_level"] {
                guard let level = l.stringValue, thinkingLevels.contains(level) else {
                    throw reject(400, "invalid_request", "Invalid value \(l) for 'generation_config.thinking_level'.")
                }
                thinking = level
            }
        }
        var schema: JSONValue?
        if let rf = o["response_format"] {
            schema = try responseSchema(rf)
        }
        var stream = false
        if let s = o["stream"] {
            guard let b = s.boolValue else { throw reject(400, "invalid_request", "Invalid type for 'stream'.") }
            stream = b
        }
        return ModelCall(surface: .interactions, model: model, prompt: prompt, system: system, schema: schema, tier: tier,
                         maxOutputTokens: maxOutput, thinkingLevel: thinking, stream: stream,
                         continuationToken: o["continuation_token"]?.stringValue)
    }

    static func responseSchema(_ rf: JSONValue) throws(SurfaceRejection) -> JSONValue? {
        let formats: [JSONValue] = rf.arrayValue ?? [rf]
        var schema: JSONValue?
        for (i, f) in formats.enumerated() {
            guard case .object(let fo) = f else { throw reject(400, "invalid_request", "Invalid type for 'response_format'.") }
            let at = rf.arrayValue == nil ? "response_format" : "response_format[\(i)]"
            for key in fo.keys where !["type", "mime_type", "schema"].contains(key) {
                throw reject(400, "invalid_request", "Unknown parameter '\(key)' at '\(at)'.")
            }
            guard let type = fo["type"]?.stringValue, ["text", "image", "audio", "video"].contains(type) else {
                throw reject(400, "invalid_request", "Invalid or missing 'type' at '\(at)'. Expected one of: text, image, audio, video.")
            }
            if type == "text", let mime = fo["mime_type"]?.stringValue {
                guard mime == "application/json" || mime == "text/plain" else {
                    throw reject(400, "invalid_request", "Unsupported 'mime_type' '\(mime)' at '\(at)'.")
                }
                if mime == "application/json" {
                    if let s = fo["schema"] {
                        guard s.objectValue != nil else { throw reject(400, "invalid_request", "Invalid 'schema' at '\(at)': expected an object.") }
                        schema = s
                    } else {
                        schema = ["type": "object"]
                    }
                }
            }
        }
        return schema
    }

    /// Joins the text of every user turn; refuses the turn_list shape and unknown keys.
    static func promptText(_ input: JSONValue) throws(SurfaceRejection) -> String {
        switch input {
        case .string(let s):
            return s
        case .object:
            return try blocksText([input], at: "input")
        case .array(let items):
            if items.isEmpty { throw reject(400, "invalid_request", "'input' must not be empty.") }
            if items.contains(where: { $0["role"] != nil }) {
                throw reject(400, "invalid_request", "When using the steps-based API version, use step_list input format instead of turn_list.")
            }
            let isSteps = items.contains { stepTypes.contains($0["type"]?.stringValue ?? "") }
            if !isSteps { return try blocksText(items, at: "input") }
            var texts: [String] = []
            for (i, step) in items.enumerated() {
                guard case .object(let so) = step, let type = so["type"]?.stringValue else {
                    throw reject(400, "invalid_request", "Missing 'type' at 'input[\(i)]'.")
                }
                guard stepTypes.contains(type) else {
                    throw reject(400, "invalid_request", "Invalid step type '\(type)' at 'input[\(i)]'.")
                }
                for key in so.keys where !["type", "content", "signature", "summary", "id", "name", "arguments", "call_id", "result"].contains(key) {
                    throw reject(400, "invalid_request", "Unknown parameter '\(key)' at 'input[\(i)]'.")
                }
                guard type == "user_input" || type == "model_output" else { continue }
                let content = so["content"]?.arrayValue ?? []
                let text = try blocksText(content, at: "input[\(i)].content")
                if type == "user_input" { texts.append(text) }
            }
            if texts.isEmpty { throw reject(400, "invalid_request", "'input' has no user_input step.") }
            return texts.joined(separator: "\n")
        default:
            throw reject(400, "invalid_request", "Invalid type for 'input'.")
        }
    }

    static func blocksText(_ blocks: [JSONValue], at path: String) throws(SurfaceRejection) -> String {
        var texts: [String] = []
        for (j, block) in blocks.enumerated() {
            let here = blocks.count == 1 && path == "input" ? path : "\(path)[\(j)]"
            guard case .object(let bo) = block else { throw reject(400, "invalid_request", "Invalid content block at '\(here)'.") }
            if bo["parts"] != nil { throw reject(400, "invalid_request", "Unknown parameter 'parts' at '\(here)'.") }
            guard let type = bo["type"]?.stringValue, blockTypes.contains(type) else {
                throw reject(400, "invalid_request", "Invalid or missing content type at '\(here)'.")
            }
            for key in bo.keys where !["type", "text", "annotations", "data", "uri", "mime_type", "resolution"].contains(key) {
                throw reject(400, "invalid_request", "Unknown parameter '\(key)' at '\(here)'.")
            }
            if type == "text" {
                guard let text = bo["text"]?.stringValue else { throw reject(400, "invalid_request", "Missing 'text' at '\(here)'.") }
                texts.append(text)
            } else if let uri = bo["uri"]?.stringValue, uri.hasPrefix("gs://") {
                throw reject(400, "invalid_request", "gs:// URIs are not supported at '\(here)'.")
            }
        }
        return texts.joined(separator: "\n")
    }

    /// The body of a served interaction.
    static func interaction(id: String, model: String, status: String, tier: ServiceTier, text: String?, outputError: JSONValue?,
                            usage: Usage, continuationToken: String?, errors: [JSONValue] = []) -> JSONValue {
        let now = Self.timestamp()
        var steps: [JSONValue] = []
        if usage.thought > 0 { steps.append(["type": "thought", "signature": .string(signature(id))]) }
        if text != nil || outputError != nil {
            var step: JSONObject = ["type": "model_output"]
            step["content"] = .array(text.map { [["type": "text", "text": .string($0)]] } ?? [])
            if let outputError { step["error"] = outputError }
            steps.append(.object(step))
        }
        var o: JSONObject = [
            "id": .string(id), "object": "interaction", "model": .string(model), "status": .string(status),
            "created": .string(now), "updated": .string(now), "service_tier": .string(tier.rawValue),
            "steps": .array(steps), "usage": usage.interactionsJSON,
        ]
        if let continuationToken { o["continuation_token"] = .string(continuationToken) }
        if !errors.isEmpty { o["errors"] = .array(errors) }
        return .object(o)
    }

    /// The same interaction as an SSE stream: created, step start/delta/stop, completed, [DONE].
    static func sse(_ interaction: JSONValue) -> [UInt8] {
        guard case .object(let ix) = interaction else { return [] }
        var events: [JSONValue] = []
        var head = ix
        head["steps"] = nil
        head["usage"] = nil
        head["status"] = "in_progress"
        var n = 0
        func next() -> JSONValue { n += 1; return .string("evt_\(n)") }
        events.append(["event_type": "interaction.created", "interaction": .object(head), "event_id": next()])
        for (index, step) in (ix["steps"]?.arrayValue ?? []).enumerated() {
            var empty = step.objectValue ?? JSONObject()
            let type = empty["type"]?.stringValue
            if type == "model_output" { empty["content"] = [] }
            events.append(["event_type": "step.start", "index": JSONValue(index), "step": .object(empty), "event_id": next()])
            if type == "model_output" {
                for block in step["content"]?.arrayValue ?? [] {
                    let text = block["text"]?.stringValue ?? ""
                    let cut = text.index(text.startIndex, offsetBy: text.count / 2)
                    for piece in [String(text[..<cut]), String(text[cut...])] where !piece.isEmpty {
                        events.append(["event_type": "step.delta", "index": JSONValue(index), "delta": ["type": "text", "text": .string(piece)], "event_id": next()])
                    }
                }
            }
            events.append(["event_type": "step.stop", "index": JSONValue(index), "event_id": next()])
        }
        var done = ix
        done["steps"] = nil
        events.append(["event_type": "interaction.completed", "interaction": .object(done), "event_id": next()])
        var out: [UInt8] = []
        for event in events {
            out.append(contentsOf: "event: \(event["event_type"]!.stringValue!)\ndata: ".utf8)
            JSONWriter.write(event, into: &out)
            out.append(contentsOf: "\n\n".utf8)
        }
        out.append(contentsOf: "data: [DONE]\n\n".utf8)
        return out
    }

    static func signature(_ id: String) -> String { Data("sim-thought:\(id)".utf8).base64EncodedString() }

    /// `YYYY-MM-DDThh:mm:ssZ`, formatted with gmtime_r: a formatter per response cost a third of
    /// the simulator's throughput.
    static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}

/// Token usage of one served hop.
struct Usage: Sendable {
    var input: Int
    var output: Int
    var thought: Int
    var total: Int { input + output + thought }

    var interactionsJSON: JSONValue {
        var o: JSONObject = [
            "total_tokens": JSONValue(total), "total_input_tokens": JSONValue(input), "total_output_tokens": JSONValue(output),
            "total_cached_tokens": 0, "total_tool_use_tokens": 0, "total_thought_tokens": JSONValue(thought),
            "input_tokens_by_modality": [["modality": "text", "tokens": JSONValue(input)]],
        ]
        if output > 0 { o["output_tokens_by_modality"] = [["modality": "text", "tokens": JSONValue(output)]] }
        return .object(o)
    }

    func generateContentJSON(tier: ServiceTier) -> JSONValue {
        var o: JSONObject = ["promptTokenCount": JSONValue(input)]
        if output > 0 { o["candidatesTokenCount"] = JSONValue(output) }
        if thought > 0 { o["thoughtsTokenCount"] = JSONValue(thought) }
        o["totalTokenCount"] = JSONValue(total)
        o["promptTokensDetails"] = [["modality": "TEXT", "tokenCount": JSONValue(input)]]
        if output > 0 { o["candidatesTokensDetails"] = [["modality": "TEXT", "tokenCount": JSONValue(output)]] }
        o["serviceTier"] = .string(tier.rawValue)
        return .object(o)
    }
}
