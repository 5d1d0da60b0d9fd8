@testable import SluiceEngine
import SluiceFormats
import SluiceModel
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

    /// `{{! per record }}` splits what packing says once from what each record says; the
    /// prompt of a record alone is unchanged by the line (a comment renders as nothing).
    @Test func thePerRecordLineSplitsTheSharedPart() throws {
        let body = "Describe each company.\nBe brief.\n  {{! per record }}  \nName: {{name}}\n"
        let t = try PromptTemplate(text: body, name: "t")
        #expect(t.shared == "Describe each company.\nBe brief.\n")
        #expect(t.renderItem(record) == "Name: <Ada & Co>\n")
        #expect(t.render(record) == t.shared + t.renderItem(record))
        #expect(t.render(record) == t.renderWithMustache(record))
        let unsplit = try PromptTemplate(text: body.replacingOccurrences(of: "  {{! per record }}  \n", with: ""), name: "u")
        #expect(unsplit.render(record) == t.render(record) && unsplit.shared.isEmpty)
        // Not alone on its line: an ordinary comment.
        #expect(try PromptTemplate(text: "A {{! per record }} B {{name}}", name: "v").shared.isEmpty)
        // The shared part is said once for many records: it cannot read a field.
        #expect(throws: EngineError.self) { try PromptTemplate(text: "Hi {{name}}\n{{! per record }}\n{{name}}", name: "w") }
        #expect(try PromptTemplate(text: "---\npack: 10\n---\nA\n{{! per record }}\n{{name}}", name: "x").settings.pack == 10)
        #expect(throws: EngineError.self) { try PromptTemplate(text: "---\npack: 0\n---\n{{name}}", name: "y") }
        #expect(try PromptTemplate(text: "---\npack: auto\n---\n{{name}}", name: "z").settings.packAuto)
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
        #expect(throws: EngineError.self) { try PromptTemplate(text: "---\nmodle: x\n---\nhi", name: "t") }
    }
}

@Suite("Retry policy")
struct RetryPolicyTests {
    @Test func fullJitterWithinTheExponentialCeilingAndServerDelayHonoured() {
        var p = RetryPolicy()
        p.baseDelay = 1
        p.maxDelay = 8
        p.maxAttempts = 5
        let shed = ModelError(.shed, status: 503, message: "busy")
        #expect(p.delay(afterAttempt: 1, error: shed, uniform: 0.999)! < 1)
        #expect(p.delay(afterAttempt: 4, error: shed, uniform: 0.5) == 4)
        // Sheds do not count toward the cap: a record is shed for as long as its wait budget lasts.
        #expect(p.delay(afterAttempt: 10, faults: 0, error: shed, uniform: 0.5) == 4)
        let fault = ModelError(.transient, status: 500, message: "oops")
        #expect(p.delay(afterAttempt: 10, faults: 5, error: fault, uniform: 0.5) == nil)
        #expect(p.delay(afterAttempt: 10, faults: 4, error: fault, uniform: 0.5) == 4)
        #expect(p.delay(afterAttempt: 4, error: shed, uniform: 0) == 0)
        let limited = ModelError(.rateLimited, status: 429, message: "slow down", retryAfter: 30)
        #expect(p.delay(afterAttempt: 1, error: limited, uniform: 0.5) == 30)
        #expect(p.delay(afterAttempt: 1, error: ModelError(.invalidRequest, status: 400, message: "bad"), uniform: 0.5) == nil)
        #expect(p.delay(afterAttempt: 1, error: ModelError(.dailyQuota, status: 429, message: "day"), uniform: 0.5) == nil)
    }

    /// A rate-limit error without a delay is not retried within a sub-second jitter: the window
    /// it hit has not reset yet.
    @Test func rateLimitedWithoutAHintWaitsAtLeastTheFloor() {
        let p = RetryPolicy()
        let bare = ModelError(.rateLimited, status: 429, message: "slow down")
        #expect(p.delay(afterAttempt: 1, error: bare, uniform: 0) == p.rateLimitedFloor)
        #expect(p.delay(afterAttempt: 1, error: bare, uniform: 0.1)! >= 2)
        let hinted = ModelError(.rateLimited, status: 429, message: "x", retryAfter: 0.4)
        #expect(p.delay(afterAttempt: 1, error: hinted, uniform: 0) == 0.4)
    }
}
