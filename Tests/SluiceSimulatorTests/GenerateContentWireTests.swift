import SluiceJSON
import SluiceSimulator
import Testing

@Suite("generateContent surface on the wire")
struct GenerateContentWireTests {
    @Test func jsonAnswerWithCamelAndSnakeCaseBodies() async throws {
        try await SimulatorServer.withRunning(.instant) { sim in
            let schema = #"{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"]}"#
            let camel = #"{"contents":[{"parts":[{"text":"Invent a person."}],"role":"user"}],"serviceTier":"flex","generationConfig":{"responseMimeType":"application/json","responseJsonSchema":\#(schema)}}"#
            let snake = #"{"contents":[{"parts":[{"text":"Invent a person."}],"role":"user"}],"service_tier":"flex","generation_config":{"response_mime_type":"application/json","response_json_schema":\#(schema)}}"#
            let answer = AnswerGenerator.json(for: "Invent a person.", schema: Wire.json(schema))
            let thought = AnswerGenerator.thoughtTokens(for: "Invent a person.", level: nil)
            let input = AnswerGenerator.tokens("Invent a person.")
            let output = AnswerGenerator.tokens(answer)
            let expected = JSONValue.object([
                "candidates": [["content": ["role": "model", "parts": [["text": .string(answer)]]], "finishReason": "STOP", "index": 0]],
                "usageMetadata": [
                    "promptTokenCount": JSONValue(input), "candidatesTokenCount": JSONValue(output), "thoughtsTokenCount": JSONValue(thought),
                    "totalTokenCount": JSONValue(input + output + thought), "promptTokensDetails": [["modality": "TEXT", "tokenCount": JSONValue(input)]],
                    "candidatesTokensDetails": [["modality": "TEXT", "tokenCount": JSONValue(output)]], "serviceTier": "flex",
                ],
                "modelVersion": "gemini-3-flash-preview",
            ])
            for body in [camel, snake] {
                let r = try await Wire.send("\(sim.baseURL)/v1beta/models/gemini-3-flash-preview:generateContent", body: body)
                #expect(r.status == 200)
                #expect(r.headers["x-gemini-service-tier"] == "flex")
                #expect(r.stableJSON == expected)
            }
        }
    }

    @Test func openAPISchemaWithUpperCaseTypes() async throws {
        try await SimulatorServer.withRunning(.instant) { sim in
            let r = try await Wire.send("\(sim.baseURL)/v1beta/models/m:generateContent", body: """
                {"contents":[{"parts":[{"text":"rate it"}]}],"generationConfig":{"responseMimeType":"application/json",
                 "responseSchema":{"type":"OBJECT","properties":{"stars":{"type":"INTEGER","minimum":1,"maximum":5},"ok":{"type":"BOOLEAN"}},"required":["stars","ok"]}}}
                """)
            let value = Wire.json(r.json["candidates"]?[0]?["content"]?["parts"]?[0]?["text"]?.stringValue ?? "")
            #expect((1...5).contains(value["stars"]?.intValue ?? 0))
            #expect(value["ok"]?.boolValue != nil)
        }
    }

    @Test(arguments: [
        (#"{"contents":[{"parts":[{"text":"x"}]}],"bogus":1}"#,
         #"{"error":{"code":400,"message":"Invalid JSON payload received. Unknown name \"bogus\": Cannot find field.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"description":"Invalid JSON payload received. Unknown name \"bogus\": Cannot find field."}]}]}}"#),
        (#"{"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"bogus":1}}"#,
         #"{"error":{"code":400,"message":"Invalid JSON payload received. Unknown name \"bogus\" at 'generation_config': Cannot find field.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"generation_config","description":"Invalid JSON payload received. Unknown name \"bogus\" at 'generation_config': Cannot find field."}]}]}}"#),
        (#"{"contents":[{"parts":[{"text":"x"}]}],"serviceTier":"cheap"}"#,
         #"{"error":{"code":400,"message":"Invalid value at 'service_tier' (type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentRequest.ServiceTier), \"cheap\"","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"service_tier","description":"Invalid value at 'service_tier' (type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentRequest.ServiceTier), \"cheap\""}]}]}}"#),
        (#"{"contents":[{"parts":[]}]}"#,
         #"{"error":{"code":400,"message":"Request has empty input.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"contents[0].parts","description":"Request has empty input."}]}]}}"#),
    ])
    func validationErrorsUseTheRPCEnvelope(body: String, expected: String) async throws {
        try await SimulatorServer.withRunning(.instant) { sim in
            let r = try await Wire.send("\(sim.baseURL)/v1beta/models/m:generateContent", body: body)
            #expect(r.status == 400)
            #expect(r.json == Wire.json(expected))
        }
    }

    @Test func authErrors() async throws {
        try await SimulatorServer.withRunning(.instant) { sim in
            let url = "\(sim.baseURL)/v1beta/models/m:generateContent"
            let body = #"{"contents":[{"parts":[{"text":"x"}]}]}"#
            let missing = try await Wire.send(url, body: body, headers: [:])
            #expect(missing.status == 403)
            #expect(missing.json == Wire.json(#"{"error":{"code":403,"message":"Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.","status":"PERMISSION_DENIED"}}"#))
            let wrong = try await Wire.send(url, body: body, headers: ["x-goog-api-key": "nope"])
            #expect(wrong.status == 400)
            #expect(wrong.json == Wire.json(#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}]}}"#))
        }
    }

    @Test func countTokens() async throws {
        try await SimulatorServer.withRunning(.instant) { sim in
            let r = try await Wire.send("\(sim.baseURL)/v1beta/models/m:countTokens", body: #"{"contents":[{"parts":[{"text":"How many tokens is this?"}],"role":"user"}]}"#)
            #expect(r.json == Wire.json(#"{"totalTokens":6,"promptTokensDetails":[{"modality":"TEXT","tokenCount":6}]}"#))
        }
    }

    @Test func safetyAndMaxTokensFaults() async throws {
        try await SimulatorServer.withRunning(.instant) { sim in
            let url = "\(sim.baseURL)/v1beta/models/m:generateContent"
            let safety = try await Wire.send(url, body: #"{"contents":[{"parts":[{"text":"bad sim-fault:safety"}]}]}"#)
            #expect(safety.stableJSON == Wire.json(#"{"candidates":[{"finishReason":"SAFETY","index":0,"safetyRatings":[{"category":"HARM_CATEGORY_DANGEROUS_CONTENT","probability":"HIGH","blocked":true}]}],"usageMetadata":{"promptTokenCount":5,"totalTokenCount":5,"promptTokensDetails":[{"modality":"TEXT","tokenCount":5}],"serviceTier":"standard"},"modelVersion":"m"}"#))
            let blocked = try await Wire.send(url, body: #"{"contents":[{"parts":[{"text":"x"}]}]}"#, headers: ["x-goog-api-key": "sim-test-key", "x-sim-fault": "prompt_blocked"])
            #expect(blocked.stableJSON == Wire.json(#"{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_HARASSMENT","probability":"HIGH","blocked":true}]},"usageMetadata":{"promptTokenCount":1,"totalTokenCount":1,"promptTokensDetails":[{"modality":"TEXT","tokenCount":1}],"serviceTier":"standard"},"modelVersion":"m"}"#))
            let cut = try await Wire.send(url, body: #"{"contents":[{"parts":[{"text":"y"}]}]}"#, headers: ["x-goog-api-key": "sim-test-key", "x-sim-fault": "max_tokens"])
            #expect(cut.json["candidates"]?[0]?["finishReason"] == "MAX_TOKENS")
            #expect(cut.json["candidates"]?[0]?["content"]?["parts"]?[0]?["text"]?.stringValue == String(AnswerGenerator.text(for: "y").prefix(12)))
        }
    }

    @Test func retiredModelIs404() async throws {
        var config = SimulatorConfiguration.instant
        config.retiredModels = ["gemini-2.5-flash"]
        try await SimulatorServer.withRunning(config) { sim in
            let r = try await Wire.send("\(sim.baseURL)/v1beta/models/gemini-2.5-flash:generateContent", body: #"{"contents":[{"parts":[{"text":"x"}]}]}"#)
            #expect(r.status == 404)
            #expect(r.json["error"]?["status"] == "NOT_FOUND")
        }
    }
}
