import SluiceJSON
import SluiceModel

/// How several records travel in one request, and how its answer comes apart again.
///
/// The prompt is the template's shared part (said once), then `itemsHeader`, then the items as
/// a compact JSON array of `{"id", "input"}` — `input` being exactly what the record's prompt
/// would hold after the shared part if it were sent alone. The answer schema is an object whose
/// `items` array holds `{"id", "answer"}`, `answer` following the per-record schema (plain text:
/// a string). So an item's answer is the answer its record would get alone, and the record
/// keeps its own answer, validation and journal entry.
///
/// The layout is a protocol between Sluice and the model: the simulator reads it back to answer
/// each item as it would answer the record alone (it shares no code with this file).
public struct PackLayout: Sendable, Equatable {
    /// Text said once per request, before the items (may be empty: then the system instruction
    /// is the shared part).
    public var shared: String
    /// The per-record answer schema; nil: plain text.
    public var itemSchema: JSONValue?

    /// A `.null` schema is none (`JSONValue` takes `nil` literals: `c ? schema : nil` is `.null`).
    public init(shared: String, itemSchema: JSONValue?) {
        self.shared = shared
        self.itemSchema = itemSchema == .null ? JSONValue?.none : itemSchema
    }

    /// Between the shared part and the items.
    public static let itemsHeader = """


        ---
        The items below are independent records. Apply the instructions above to each item's \
        "input" on its own, exactly as if it were the only one, and never let one item's input \
        change another's answer. Reply with a JSON object whose "items" array holds one element \
        per item: its "id" and its "answer".
        Items:

        """

    /// One record of a pack.
    public struct Item: Sendable, Equatable {
        public var id: String
        public var input: String

        public init(id: String, input: String) {
            self.id = id
            self.input = input
        }
    }

    /// Input tokens an item adds to a pack, estimated: its input and its `{"id", "input"}` JSON.
    public static func estimatedTokens(item input: String) -> Int { TokenEstimate.tokens(input) + 8 }

    /// What `--pack auto` packs: as many records as fit this many input tokens, at most
    /// `autoRecords` — long enough that the shared part is paid rarely, short enough that a
    /// pack cut or refused as a whole costs little to split.
    public static let autoTokens = 4_000
    public static let autoRecords = 100

    public func prompt(_ items: [Item]) -> String {
        let array = JSONValue.array(items.map { .object(["id": .string($0.id), "input": .string($0.input)]) })
        return shared + Self.itemsHeader + JSONWriter.string(array)
    }

    /// The schema of a pack's answer.
    public var schema: JSONValue {
        let answer = itemSchema ?? ["type": "string"]
        let item: JSONValue = [
            "type": "object",
            "properties": ["id": ["type": "string"], "answer": answer],
            "required": ["id", "answer"],
        ]
        return [
            "type": "object",
            "properties": ["items": ["type": "array", "items": item]],
            "required": ["items"],
        ]
    }

    /// What a pack's answer says of each item.
    public struct Split: Sendable, Equatable {
        /// Answer text by id, as the record's own request would have returned it (plain text,
        /// or compact JSON conforming to the per-record schema).
        public var answers: [String: String] = [:]
        /// Ids whose item must be sent again, and why (missing, duplicated, not conforming).
        public var resend: [String: String] = [:]
        /// Ids in the answer that no item has (ignored, counted).
        public var unknown: [String] = []
    }

    /// Takes a pack's answer apart. Nothing an item says is trusted beyond its own answer: a
    /// duplicated id sends that record again (which copy would be right?), an unknown id is
    /// dropped, and the whole answer failing to parse sends every item again.
    public func split(_ text: String, ids: [String]) -> Split {
        var split = Split()
        let expected = Set(ids)
        guard let value = try? JSONParser.parse(text), let items = value["items"]?.arrayValue else {
            for id in ids { split.resend[id] = "the pack's answer is not a JSON object with an \"items\" array" }
            return split
        }
        var seen: [String: Int] = [:]
        var found: [String: JSONValue] = [:]
        for item in items {
            guard let id = item["id"]?.stringValue ?? item["id"]?.intValue.map(String.init) else { continue }
            guard expected.contains(id) else {
                split.unknown.append(id)
                continue
            }
            seen[id, default: 0] += 1
            found[id] = item["answer"] ?? .null
        }
        for id in ids {
            guard let count = seen[id] else {
                split.resend[id] = "missing from the pack's answer"
                continue
            }
            if count > 1 {
                split.resend[id] = "answered \(count) times in one pack"
                continue
            }
            let answer = found[id] ?? .null
            if let itemSchema {
                if let problem = SchemaCheck.violation(answer, schema: itemSchema) {
                    split.resend[id] = "its answer in the pack does not match the schema: \(problem)"
                } else {
                    split.answers[id] = JSONWriter.string(answer)
                }
            } else if let text = answer.stringValue, !text.isEmpty {
                split.answers[id] = text
            } else {
                split.resend[id] = "its answer in the pack is not a non-empty string"
            }
        }
        return split
    }
}
