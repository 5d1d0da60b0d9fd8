import Foundation
import SluiceEngine
import SluiceJSON
import SluiceSimulator
import SluiceTestSupport
import Testing

/// The packing protocol read by both sides: Sluice's `PackLayout` writes a packed request, the
/// simulator (which shares no code with it) answers it over the wire, and `PackLayout.split`
/// takes the answer apart — each item must hold exactly the answer its record gets alone, and
/// each pack fault must send back exactly the items it spoiled.
@Suite("Packing protocol on the wire")
struct PackProtocolTests {
    static let shared = "Classify the comment as ok or spam.\n"
    static let inputs = ["Comment: buy cheap pills\n", "Comment: \"lovely\" post, ünïcode\n", "Comment: see you at 5\n"]
    static let schema: JSONValue = [
        "type": "object",
        "properties": ["label": ["type": "string", "enum": ["ok", "spam"]], "confidence": ["type": "number"]],
        "required": ["label", "confidence"],
    ]

    /// Sends one packed generateContent request (curl, so the simulator is reached the way any
    /// client would) and returns the answer's text.
    static func send(_ layout: PackLayout, ids: [String], to sim: RunningSimulator, fault: String? = nil, dir: Scratch) async throws -> String {
        let items = zip(ids, inputs).map { PackLayout.Item(id: $0, input: $1) }
        let body: JSONValue = [
            "contents": [["parts": [["text": .string(layout.prompt(items))]]]],
            "generationConfig": ["responseMimeType": "application/json", "responseJsonSchema": layout.schema],
        ]
        let file = try dir.write("body-\(UUID().uuidString).json", JSONWriter.string(body))
        var arguments = ["curl", "-sS", "-H", "content-type: application/json", "-H", "x-goog-api-key: sim-test-key", "--data-binary", "@" + file]
        if let fault { arguments += ["-H", "X-Sim-Fault: \(fault)"] }
        let r = try await Subprocess.run(arguments + [sim.baseURL + "/v1beta/models/gemini-3.5-flash:generateContent"])
        let response = try JSONParser.parse(Data(r.stdout.utf8))
        return try #require(response["candidates"]?[0]?["content"]?["parts"]?[0]?["text"]?.stringValue, "\(r.stdout)")
    }

    /// What each record gets when sent alone: the shared part and its input as one prompt.
    static func alone(_ input: String, schema: JSONValue?) -> String {
        schema.map { AnswerGenerator.json(for: shared + input, schema: $0) } ?? AnswerGenerator.text(for: shared + input)
    }

    @Test(arguments: [false, true])
    func everyItemGetsTheAnswerItsRecordGetsAlone(structured: Bool) async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let layout = PackLayout(shared: Self.shared, itemSchema: structured ? Self.schema : JSONValue?.none)
        let ids = ["4", "17", "18"]
        try await SimulatorServer.withRunning(E2E.instant) { sim in
            let split = layout.split(try await Self.send(layout, ids: ids, to: sim, dir: dir), ids: ids)
            #expect(split.resend.isEmpty && split.unknown.isEmpty, "\(split)")
            for (id, input) in zip(ids, Self.inputs) {
                #expect(split.answers[id] == Self.alone(input, schema: layout.itemSchema), "item \(id)")
            }
        }
    }

    @Test(arguments: [("pack_drop", ["18"]), ("pack_duplicate", ["4"]), ("pack_invalid", ["4"]), ("pack_reorder", [String]())])
    func eachPackFaultSpoilsOnlyItsItems(fault: String, spoiled: [String]) async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let ids = ["4", "17", "18"]
        for structured in [false, true] {
            let layout = PackLayout(shared: Self.shared, itemSchema: structured ? Self.schema : JSONValue?.none)
            try await SimulatorServer.withRunning(E2E.instant) { sim in
                let split = layout.split(try await Self.send(layout, ids: ids, to: sim, fault: fault, dir: dir), ids: ids)
                #expect(split.resend.keys.sorted() == spoiled, "\(fault): \(split)")
                for (id, input) in zip(ids, Self.inputs) where !spoiled.contains(id) {
                    #expect(split.answers[id] == Self.alone(input, schema: layout.itemSchema), "\(fault), item \(id)")
                }
                #expect(sim.simulator.stats().totals.faults == 1)
            }
        }
    }
}
