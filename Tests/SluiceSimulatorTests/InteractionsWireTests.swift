import SluiceJSON
import SluiceSimulator
import Testing

@Suite("Interactions surface on the wire")
struct InteractionsWireTests {
    @Test func textAnswerHasTheDocumentedShapeAndHeader() async throws {
        try await SimulatorServer.withRunning(.instant) { sim in
            let prompt = "Say hello in exactly three words."
            let r = try await Wire.send("\(sim.baseURL)/v1beta/interactions", body: """
                {"model":"gemini-3-flash-preview","generation_config":{"max_output_tokens":256,"temperature":0.2,"thinking_level":"low"},
                 "input":"\(prompt)","service_tier":"flex","store":false,"system_instruction":"You are terse."}
                """)
            #expect(r.status == 200)
            #expect(r.headers["x-gemini-service-tier"] == "flex")
            #expect(r.headers["content-type"] == "application/json; charset=UTF-8")
            let answer = AnswerGenerator.text(for: prompt)
            let input = AnswerGenerator.tokens(prompt) + AnswerGenerator.tokens("You are terse.")
            let output = AnswerGenerator.tokens(answer)
            let thought = AnswerGenerator.thoughtTokens(for: prompt, level: "low")
            let expected = Wire.json("""
                {"object":"interaction","model":"gemini-3-flash-preview","status":"completed","service_tier":"flex",
                 "steps":[{"type":"thought"},{"type":"model_output","content":[{"type":"text","text":"\(answer)"}]}],
                 "usage":{"total_tokens":\(input + output + thought),"total_input_tokens":\(input),"total_output_tokens":\(output),
                          "total_cached_tokens":0,"total_tool_use_tokens":0,"total_thought_tokens":\(thought),
                          "input_tokens_by_modality":[{"modality":"text","tokens":\(input)}],
                          "output_tokens_by_modality":[{"modality":"text","tokens":\(output)}]}}
                """)
            #expect(r.stableJSON == expected)
            let id = try #require(r.json["id"]?.stringValue)
            #expect(id.hasPrefix("v1_"))
            let created = try #require(r.json["created"]?.stringValue)
            #expect(created.count == 20 && created.hasSuffix("Z"))
        }
    }

    @Test func sameAnswerOnEveryRunAndEverySurface() async throws {
        let prompt = "Classify: Acme Corp makes anvils."
        var answers: [String] = []
        for _ in 0..<2 {
            try await SimulatorServer.withRunning(.instant) { sim in
                let ix = try await Wire.send("\(sim.baseURL)/v1beta/interactions", body: #"{"model":"m","input":"\#(prompt)"}"#)
                answers.append(ix.json["steps"]?[1]?["content"]?[0]?["text"]?.stringValue ?? "")
                let gc = try await Wire.send("\(sim.baseURL)/v1beta/models/m:generateContent", body: #"{"contents":[{"parts":[{"text":"\#(prompt)"}]}]}"#)
                answers.append(gc.json["candidates"]?[0]?["content"]?["parts"]?[0]?["text"]?.stringValue ?? "")
            }
        }
        #expect(Set(answers) == [AnswerGenerator.text(for: prompt)])
    }

    @Test func structuredOutputConformsToTheSchema() async throws {
        try await SimulatorServer.withRunning(.instant) { sim in
            let schema = #"{"type":"object","properties":{"label":{"type":"string","enum":["ok","spam","abuse"]},"score":{"type":"number","minimum":0,"maximum":1},"tags":{"type":"array","items":{"type":"string"},"minItems":2,"maxItems":2},"meta":{"type":"object","properties":{"lang":{"type":"string"},"n":{"type":"integer","minimum":5,"maximum":5}},"required":["lang","n"]}},"required":["label","score","tags","meta"]}"#
            for i in 0..<20 {
                let r = try await Wire.send("\(sim.baseURL)/v1beta/interactions", body: """
                    {"model":"m","input":"comment \(i)","response_format":{"type":"text","mime_type":"application/json","schema":\(schema)}}
                    """)
                let text = try #require(r.json["steps"]?[1]?["content"]?[0]?["text"]?.stringValue)
                #expect(text == AnswerGenerator.json(for: "comment \(i)", schema: Wire.json(schema)))
                let value = Wire.json(text)
                #expect(["ok", "spam", "abuse"].contains(value["label"]?.stringValue ?? ""))
                let score = try #require(value["score"]?.doubleValue)
                #expect(score >= 0 && score <= 1)
                #expect(value["tags"]?.arrayValue?.count == 2)
                #expect(value["meta"]?["n"] == 5)
                #expect(value["meta"]?["lang"]?.stringValue != nil)
                #expect(value.objectValue?.keys == ["label", "score", "tags", "meta"])
            }
        }
    }

    @Test func stepListInputAndContentBlocksAreAccepted() async throws {
        try await SimulatorServer.withRunning(.instant) { sim in
            let steps = try await Wire.send("\(sim.baseURL)/v1beta/interactions", body: """
                {"model":"m","input":[{"type":"user_input","content":[{"type":"text","text":"Name a colour."}]},
                 {"type":"model_output","content":[{"type":"text","text":"Blue."}]},
                 {"type":"user_input","content":[{"type":"text","text":"Another one."}]}],"service_tier":"standard","store":false}
                """)
            #expect(steps.status == 200)
            #expect(steps.headers["x-gemini-service-tier"] == "standard")
            #expect(steps.json["steps"]?[1]?["content"]?[0]?["text"]?.stringValue == AnswerGenerator.text(for: "Name a colour.\nAnother one."))
            let blocks = try await Wire.send("\(sim.baseURL)/v1beta/interactions", body: #"{"model":"m","input":[{"type":"text","text":"Hi"}]}"#)
            #expect(blocks.json["steps"]?[1]?["content"]?[0]?["text"]?.stringValue == AnswerGenerator.text(for: "Hi"))
        }
    }

    @Test(arguments: [
        (#"{"model":"m","input":"x","bogus":1}"#, 400, #"{"error":{"code":"invalid_request","message":"Unknown parameter 'bogus'."}}"#),
        (#"{"model":"m","input":[{"role":"user","content":[{"type":"text","text":"x"}]}]}"#, 400,
         #"{"error":{"code":"invalid_request","message":"When using the steps-based API version, use step_list input format instead of turn_list."}}"#),
        (#"{"model":"m","input":[{"parts":[{"text":"x"}]}]}"#, 400, #"{"error":{"code":"invalid_request","message":"Unknown parameter 'parts' at 'input'."}}"#),
        (#"{"model":"m","input":"x","service_tier":"cheap"}"#, 400,
         #"{"error":{"code":"invalid_request","message":"Invalid value \"cheap\" for 'service_tier'. Expected one of: flex, standard, priority."}}"#),
        (#"{"model":"m","input":"x","generation_config":{"thinking_budget":5}}"#, 400,
         #"{"error":{"code":"invalid_request","message":"Unknown parameter 'thinking_budget' at 'generation_config'."}}"#),
        (#"{"model":"m","input":"x","response_mime_type":"application/json"}"#, 400, #"{"error":{"code":"invalid_request","message":"Unknown parameter 'response_mime_type'."}}"#),
        (#"{"input":"x"}"#, 400, #"{"error":{"code":"invalid_request","message":"Missing required parameter 'model'."}}"#),
        (#"{"model":"m","input":"#, 400, #"{"error":{"code":"invalid_request","message":"Request body is not valid JSON."}}"#),
    ])
    func validationErrorsUseTheInteractionsEnvelope(body: String, status: Int, expected: String) async throws {
        try await SimulatorServer.withRunning(.instant) { sim in
            let r = try await Wire.send("\(sim.baseURL)/v1beta/interactions", body: body)
            #expect(r.status == status)
            #expect(r.json == Wire.json(expected))
        }
    }

    @Test func authErrors() async throws {
        try await SimulatorServer.withRunning(.instant) { sim in
            let url = "\(sim.baseURL)/v1beta/interactions"
            let missing = try await Wire.send(url, body: #"{"model":"m","input":"x"}"#, headers: [:])
            #expect(missing.status == 401)
            #expect(missing.json == Wire.json(#"{"error":{"code":"authentication","message":"Missing API key. Pass it in the 'x-goog-api-key' header."}}"#))
            let wrong = try await Wire.send(url, body: #"{"model":"m","input":"x"}"#, headers: ["x-goog-api-key": "nope"])
            #expect(wrong.status == 401)
            #expect(wrong.json == Wire.json(#"{"error":{"code":"authentication","message":"API key not valid. Please pass a valid API key."}}"#))
            let query = try await Wire.send(url + "?key=sim-test-key", body: #"{"model":"m","input":"x"}"#, headers: [:])
            #expect(query.status == 200)
        }
    }

    @Test func maxOutputTokensGivesIncomplete() async throws {
        try await SimulatorServer.withRunning(.instant) { sim in
            let prompt = "long answer please"
            let r = try await Wire.send("\(sim.baseURL)/v1beta/interactions", body: #"{"model":"m","input":"\#(prompt)","generation_config":{"max_output_tokens":2}}"#)
            #expect(r.json["status"] == "incomplete")
            #expect(r.json["steps"]?[1]?["content"]?[0]?["text"]?.stringValue == String(AnswerGenerator.text(for: prompt).prefix(8)))
            #expect(r.json["usage"]?["total_output_tokens"] == 2)
        }
    }

    @Test func continuationHopsReassembleTheAnswerAndBillInputEachHop() async throws {
        var config = SimulatorConfiguration.instant
        config.decodeLimitTokens = 3
        try await SimulatorServer.withRunning(config) { sim in
            let prompt = "tell me a long story"
            let full = AnswerGenerator.text(for: prompt)
            var text = ""
            var token: String?
            var hops = 0
            repeat {
                let extra = token.map { #","continuation_token":"\#($0)""# } ?? ""
                let r = try await Wire.send("\(sim.baseURL)/v1beta/interactions", body: #"{"model":"m","input":"\#(prompt)","store":false\#(extra)}"#)
                #expect(r.status == 200)
                text += r.json["steps"]?.arrayValue?.last?["content"]?[0]?["text"]?.stringValue ?? ""
                token = r.json["continuation_token"]?.stringValue
                #expect((r.json["status"] == "requires_continuation") == (token != nil))
                hops += 1
            } while token != nil && hops < 50
            #expect(text == full)
            #expect(hops == (full.count + 11) / 12)
            let stats = sim.simulator.stats().prompts[PromptHash.hex(prompt)]
            #expect(stats?.answers == hops)
            #expect(stats?.inputTokens == hops * AnswerGenerator.tokens(prompt))
            let bad = try await Wire.send("\(sim.baseURL)/v1beta/interactions", body: #"{"model":"m","input":"other","continuation_token":"ct1.0000.1"}"#)
            #expect(bad.json == Wire.json(#"{"error":{"code":"invalid_request","message":"Invalid 'continuation_token'."}}"#))
        }
    }

    @Test func streamingSendsServerSentEvents() async throws {
        try await SimulatorServer.withRunning(.instant) { sim in
            let r = try await Wire.send("\(sim.baseURL)/v1beta/interactions", body: #"{"model":"m","input":"Count to five.","stream":true}"#)
            #expect(r.headers["content-type"] == "text/event-stream")
            let events = r.text.components(separatedBy: "\n\n").compactMap { block -> JSONValue? in
                guard let line = block.split(separator: "\n").first(where: { $0.hasPrefix("data: ") }), line != "data: [DONE]" else { return nil }
                return try? JSONParser.parse(String(line.dropFirst(6)))
            }
            #expect(events.first?["event_type"] == "interaction.created")
            #expect(events.last?["event_type"] == "interaction.completed")
            let text = events.filter { $0["event_type"] == "step.delta" }.compactMap { $0["delta"]?["text"]?.stringValue }.joined()
            #expect(text == AnswerGenerator.text(for: "Count to five."))
            #expect(r.text.hasSuffix("data: [DONE]\n\n"))
        }
    }
}
