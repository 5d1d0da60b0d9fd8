import SluiceJSON
import SluiceModel
import Testing

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
