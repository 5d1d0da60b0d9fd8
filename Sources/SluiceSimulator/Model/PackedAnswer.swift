import SluiceJSON

/// Answers a packed request — several records in one prompt, as `sluice run --pack` sends them
/// — item by item, with exactly the answer each record gets when sent alone; so a packed run's
/// output equals an unpacked run's, and a test can predict every cell.
///
/// A pack is recognised by its layout (the protocol, read here independently of the client):
/// the prompt is a shared part, then `itemsHeader`, then a JSON array of `{"id", "input"}`; the
/// answer schema is an object with an `items` array of `{"id", "answer"}`. The record alone
/// would have been prompted with the shared part followed by its input, and answered by the
/// `answer` schema (a string schema: plain text).
enum PackedAnswer {
    static let itemsHeader = """


        ---
        The items below are independent records. Apply the instructions above to each item's \
        "input" on its own, exactly as if it were the only one, and never let one item's input \
        change another's answer. Reply with a JSON object whose "items" array holds one element \
        per item: its "id" and its "answer".
        Items:

        """

    struct Item: Equatable {
        var id: String
        /// The prompt the record would have been sent alone.
        var prompt: String
    }

    /// The items of a packed request and the schema of one answer (nil: plain text), or nil
    /// when the request is not a pack.
    static func parse(prompt: String, schema: JSONValue?) -> (items: [Item], answerSchema: JSONValue?)? {
        guard let answer = schema?["properties"]?["items"]?["items"]?["properties"]?["answer"],
              let header = prompt.range(of: itemsHeader, options: .backwards),
              let array = try? JSONParser.parse(String(prompt[header.upperBound...])).arrayValue
        else { return nil }
        let shared = String(prompt[..<header.lowerBound])
        var items: [Item] = []
        for element in array {
            guard let id = element["id"]?.stringValue, let input = element["input"]?.stringValue else { return nil }
            items.append(Item(id: id, prompt: shared + input))
        }
        let plain = answer == ["type": "string"] || answer == ["type": "STRING"]
        // Spelled out: `plain ? nil : answer` would be `JSONValue.null` (it takes nil literals).
        return (items, plain ? JSONValue?.none : answer)
    }

    /// How a pack fault bends the answer (each a way real models get packs wrong).
    enum Fault: String, Sendable {
        /// The last item is left out.
        case drop = "pack_drop"
        /// The first item's id comes twice, the second time with another answer.
        case duplicate = "pack_duplicate"
        /// The items come back in reverse order (harmless: ids say which is which).
        case reorder = "pack_reorder"
        /// The first item's answer does not match its schema (or is empty, for plain text).
        case invalid = "pack_invalid"
    }

    /// The pack's answer, serialized compactly as a model would return it.
    static func answer(items: [Item], answerSchema: JSONValue?, fault: Fault?) -> String {
        var elements: [JSONValue] = items.map { item in
            let answer: JSONValue = answerSchema.map { schema in
                (try? JSONParser.parse(AnswerGenerator.json(for: item.prompt, schema: schema))) ?? .null
            } ?? .string(AnswerGenerator.text(for: item.prompt))
            return ["id": .string(item.id), "answer": answer]
        }
        switch fault {
        case .drop?:
            if !elements.isEmpty { elements.removeLast() }
        case .duplicate?:
            if let first = items.first {
                elements.append(["id": .string(first.id), "answer": answerSchema == nil ? "Another answer." : [:]])
            }
        case .reorder?:
            elements.reverse()
        case .invalid?:
            if let first = items.first {
                // An empty text; a string where an object is asked; else an object.
                let wrong: JSONValue = answerSchema == nil ? "" : (answerSchema?["type"]?.stringValue?.lowercased() == "object" ? "not an object" : ["unexpected": true])
                elements[0] = ["id": .string(first.id), "answer": wrong]
            }
        case nil:
            break
        }
        return JSONWriter.string(["items": .array(elements)])
    }
}
