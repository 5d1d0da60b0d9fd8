@testable import SluiceEngine
import SluiceFormats
import SluiceGemini
import SluiceJSON
import Testing

@Suite("Templates")
struct TemplateTests {
    let record = Record(number: 7, byteOffset: 0, line: 8, fields: ["name": "<Ada & Co>", "address": ["city": "Oslo"], "tags": ["a", "b"]])

    @Test func rendersAsTextWithoutHTMLEscaping() throws {
        let t = try PromptTemplate(text: "Hi {{name}} in {{address.city}} #{{_record}} {{#tags}}[{{.}}]{{/tags}} {{address}}", name: "t")
        #expect(t.render(record) == #"Hi <Ada & Co> in Oslo #7 [a][b] {"city":"Oslo"}"#)
    }

    @Test func frontMatterSettingsAndSchemaKeepPropertyOrder() throws {
        let t = try PromptTemplate(text: """
            ---
            system: Be brief.
            model: gemini-3.1-flash-lite
            tier: standard
            column: verdict
            max_output_tokens: 100
            temperature: 0.5
            schema:
              type: object
              properties:
                zeta: {type: string}
                alpha: {type: integer}
            ---
            Text: {{name}}
            """, name: "t")
        #expect(t.settings.system == "Be brief.")
        #expect(t.settings.model == "gemini-3.1-flash-lite")
        #expect(t.settings.tier == "standard")
        #expect(t.settings.column == "verdict")
        #expect(t.settings.maxOutputTokens == 100)
        #expect(t.settings.temperature == 0.5)
        #expect(t.settings.schema?["properties"]?.objectValue?.keys == ["zeta", "alpha"])
        #expect(t.body == "Text: {{name}}")
    }

    @Test func missingVariablesAreListed() throws {
        let t = try PromptTemplate(text: "{{name}} {{email}} {{address.zip}} {{#tags}}{{whatever}}{{/tags}}", name: "t")
        #expect(t.variables == ["name", "email", "address.zip", "tags"])
        #expect(t.missingVariables(in: record) == ["email", "address.zip"])
    }

    @Test func fieldsWhoseNamesMustacheCannotSpellAreReachable() throws {
        let odd = Record(number: 1, byteOffset: 0, line: 2, fields: ["Company Name": "Acme", "x:weight": ["unit": "kg", "_text": "5"], "@id": "7"])
        let t = try PromptTemplate(text: "{{Company_Name}} {{x_weight._text}} {{x_weight.unit}} #{{_id}}", name: "t")
        #expect(t.missingVariables(in: odd).isEmpty)
        #expect(t.render(odd) == "Acme 5 kg #7")
    }

    @Test func plainRendererMatchesMustache() throws {
        let records = [
            Record(number: 3, byteOffset: 0, line: 4, fields: ["name": "A & <b>", "n": .number("1.50"), "ok": .bool(true), "no": .bool(false), "nil": .null,
                                                               "addr": ["city": "Oslo", "geo": ["lat": .number("59.9")]], "tags": .array(["x", "y"]),
                                                               "Company Name": "Acme"]),
            Record(number: 9, byteOffset: 0, line: 10, fields: ["name": "", "addr": "flat", "tags": .array([])]),
        ]
        let bodies = [
            "{{name}} {{n}} {{ok}} {{no}} [{{nil}}] {{missing}} #{{_record}}",
            "{{{name}}} {{& addr.city }} {{addr.geo.lat}} {{addr.nothing}} {{Company_Name}}",
            "{{addr}} {{tags}}",
            "{{addr.city.deeper}} line\n  {{name}}\n",
        ]
        for body in bodies {
            let t = try PromptTemplate(text: body, name: "t")
            for record in records { #expect(t.render(record) == t.renderWithMustache(record), "\(body)") }
        }
    }

    /// Issue 10.4: arrays and objects print as compact JSON, the text their output cell holds;
    /// sections still iterate arrays.
    @Test func nestedValuesRenderAsCompactJSON() throws {
        let record = Record(number: 1, byteOffset: 0, line: 2, fields: [
            "middle": ["list": .array([["a": .number("1")], ["a": .number("2")]]), "strings": .array(["0", "1"])],
            "tags": .array(["x", "y"]),
        ])
        let t = try PromptTemplate(text: "{{middle.list}} | {{middle.strings}} | {{middle}} | {{#tags}}<{{.}}>{{/tags}} | {{#middle.list}}{{a}};{{/middle.list}}", name: "t")
        #expect(t.render(record) == #"[{"a":1},{"a":2}] | ["0","1"] | {"list":[{"a":1},{"a":2}],"strings":["0","1"]} | <x><y> | 1;2;"#)
        #expect(!t.render(record).contains("Sluice"))
    }

    @Test func unknownFrontMatterKeyIsAUsageError() {
        #expect(throws: SluiceError.self) { try PromptTemplate(text: "---\nmodle: x\n---\nhi", name: "t") }
    }
}

@Suite("Retry policy")
struct RetryPolicyTests {
    @Test func fullJitterWithinTheExponentialCeilingAndServerDelayHonoured() {
        var p = RetryPolicy()
        p.baseDelay = 1
        p.maxDelay = 8
        p.maxAttempts = 5
        let shed = GeminiError(.shed, status: 503, message: "busy")
        #expect(p.delay(afterAttempt: 1, error: shed, uniform: 0.999)! < 1)
        #expect(p.delay(afterAttempt: 4, error: shed, uniform: 0.5) == 4)
        #expect(p.delay(afterAttempt: 10, error: shed, uniform: 0.5) == nil)
        #expect(p.delay(afterAttempt: 4, error: shed, uniform: 0) == 0)
        let limited = GeminiError(.rateLimited, status: 429, message: "slow down", retryAfter: 30)
        #expect(p.delay(afterAttempt: 1, error: limited, uniform: 0.5) == 30)
        #expect(p.delay(afterAttempt: 1, error: GeminiError(.invalidRequest, status: 400, message: "bad"), uniform: 0.5) == nil)
        #expect(p.delay(afterAttempt: 1, error: GeminiError(.dailyQuota, status: 429, message: "day"), uniform: 0.5) == nil)
    }
}

@Suite("Error classification")
struct ErrorClassificationTests {
    @Test(arguments: [
        (429, #"{"error":{"code":"rate_limit_exceeded","message":"x"}}"#, GeminiError.Kind.rateLimited),
        (429, #"{"error":{"code":"quota_exceeded","message":"x"}}"#, .dailyQuota),
        (429, #"{"error":{"code":429,"message":"Your prepayment credits are depleted.","status":"RESOURCE_EXHAUSTED"}}"#, .billing),
        (429, #"{"error":{"code":429,"message":"q","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaId":"GenerateRequestsPerDayPerProjectPerModel"}]}]}}"#, .dailyQuota),
        (503, #"{"error":{"code":"service_unavailable","message":"x"}}"#, .shed),
        (500, #"{"error":{"code":500,"message":"x","status":"INTERNAL"}}"#, .transient),
        (400, #"{"error":{"code":"invalid_request","message":"x"}}"#, .invalidRequest),
    ])
    func classifies(status: Int, body: String, kind: GeminiError.Kind) throws {
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

@Suite("Schema check of structured answers")
struct SchemaCheckTests {
    let schema: JSONValue = try! JSONParser.parse(#"{"type":"object","properties":{"label":{"type":"string","enum":["ok","spam"]},"score":{"type":"number","minimum":0,"maximum":1},"n":{"type":"integer"},"tags":{"type":"array","items":{"type":"string"},"maxItems":2}},"required":["label","score"]}"#)

    @Test(arguments: [
        (#"{"label":"ok","score":0.5,"n":3,"tags":["a"]}"#, nil as String?),
        (#"{"score":0.5}"#, "$.label is required"),
        (#"{"label":"maybe","score":0.5}"#, #"$.label is "maybe", not one of ["ok","spam"]"#),
        (#"{"label":"ok","score":2}"#, "$.score is above the maximum 1.0"),
        (#"{"label":"ok","score":0.1,"n":1.5}"#, "$.n is a number, expected integer"),
        (#"{"label":"ok","score":0.1,"tags":["a","b","c"]}"#, "$.tags has 3 items, more than 2"),
        (#"["ok"]"#, "$ is a array, expected object"),
    ])
    func violations(answer: String, expected: String?) throws {
        #expect(SchemaCheck.violation(try JSONParser.parse(answer), schema: schema) == expected)
    }
}
