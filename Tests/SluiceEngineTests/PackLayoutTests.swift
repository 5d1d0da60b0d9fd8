@testable import SluiceEngine
import SluiceJSON
import Testing

/// The pack's request layout and how its answer comes apart, item by item.
@Suite("Pack layout")
struct PackLayoutTests {
    static let schema: JSONValue = [
        "type": "object",
        "properties": ["label": ["type": "string", "enum": ["ok", "spam"]], "score": ["type": "number"]],
        "required": ["label", "score"],
    ]

    @Test func thePromptSaysTheSharedPartOnceThenTheItemsAsJSON() throws {
        let layout = PackLayout(shared: "Classify each comment.", itemSchema: nil)
        let prompt = layout.prompt([.init(id: "7", input: "Comment: \"hi\"\n"), .init(id: "9", input: "Comment: ünï")])
        #expect(prompt.hasPrefix("Classify each comment." + PackLayout.itemsHeader))
        let items = try JSONParser.parse(String(prompt.dropFirst(("Classify each comment." + PackLayout.itemsHeader).count)))
        #expect(items == [["id": "7", "input": "Comment: \"hi\"\n"], ["id": "9", "input": "Comment: ünï"]])
    }

    @Test func theAnswerSchemaWrapsThePerRecordSchema() {
        let plain = PackLayout(shared: "", itemSchema: nil).schema
        #expect(plain["properties"]?["items"]?["items"]?["properties"]?["answer"] == ["type": "string"])
        let structured = PackLayout(shared: "", itemSchema: Self.schema).schema
        #expect(structured["properties"]?["items"]?["items"]?["properties"]?["answer"] == Self.schema)
        #expect(structured["required"] == ["items"])
    }

    @Test func everyItemIsAnsweredOnItsOwnInAnyOrder() {
        let layout = PackLayout(shared: "", itemSchema: Self.schema)
        let text = #"{"items":[{"id":"2","answer":{"label":"spam","score":0.9}},{"id":"1","answer":{"label":"ok","score":0.1}}]}"#
        let split = layout.split(text, ids: ["1", "2"])
        #expect(split.answers == ["1": #"{"label":"ok","score":0.1}"#, "2": #"{"label":"spam","score":0.9}"#])
        #expect(split.resend.isEmpty && split.unknown.isEmpty)
    }

    /// Missing, duplicated and non-conforming items go back to be sent again; unknown ids are
    /// dropped; the others keep their answers.
    @Test func faultyItemsAreSentAgainAndTheRestKept() {
        let layout = PackLayout(shared: "", itemSchema: Self.schema)
        let text = """
            {"items":[{"id":"1","answer":{"label":"ok","score":0.1}},
            {"id":"2","answer":{"label":"maybe","score":0.5}},
            {"id":"3","answer":{"label":"ok","score":0.2}},{"id":"3","answer":{"label":"spam","score":0.7}},
            {"id":"99","answer":{"label":"ok","score":0}}]}
            """
        let split = layout.split(text, ids: ["1", "2", "3", "4"])
        #expect(split.answers == ["1": #"{"label":"ok","score":0.1}"#])
        #expect(split.resend.keys.sorted() == ["2", "3", "4"])
        #expect(split.resend["2"]?.contains("schema") == true)
        #expect(split.resend["3"]?.contains("2 times") == true)
        #expect(split.resend["4"]?.contains("missing") == true)
        #expect(split.unknown == ["99"])
    }

    @Test func anUnreadableAnswerSendsEveryItemAgain() {
        let layout = PackLayout(shared: "", itemSchema: nil)
        for text in ["", "not json", #"{"items":"#, #"["a"]"#, #"{"answers":[]}"#] {
            let split = layout.split(text, ids: ["1", "2"])
            #expect(split.answers.isEmpty && split.resend.count == 2, "\(text)")
        }
        let empty = layout.split(#"{"items":[{"id":"1","answer":""},{"id":"2","answer":3}]}"#, ids: ["1", "2"])
        #expect(empty.answers.isEmpty && empty.resend.count == 2)
        #expect(layout.split(#"{"items":[{"id":1,"answer":"fine"}]}"#, ids: ["1"]).answers == ["1": "fine"])
    }
}
