import SluiceJSON

/// Deterministic answers derived from the prompt text alone, so a test can predict what any
/// record will get: plain text, or a JSON value that conforms to the request's schema.
public enum AnswerGenerator {
    /// Plain-text answer for a prompt.
    public static func text(for prompt: String) -> String {
        var rng = SplitMix64(seed: PromptHash.value(prompt))
        let count = 4 + Int(rng.next() % 12)
        var words: [String] = []
        for _ in 0..<count { words.append(vocabulary[Int(rng.next() % UInt64(vocabulary.count))]) }
        words[0] = words[0].prefix(1).uppercased() + words[0].dropFirst()
        return words.joined(separator: " ") + "."
    }

    /// A JSON value conforming to `schema` (JSON Schema, or the OpenAPI subset with upper-case
    /// types), serialized compactly as the model would return it.
    public static func json(for prompt: String, schema: JSONValue) -> String {
        var rng = SplitMix64(seed: PromptHash.value(prompt) ^ 0x5EED_5C4E_A000_0001)
        let value = generate(schema, root: schema, rng: &rng, depth: 0)
        return JSONWriter.string(value)
    }

    /// The answer for a prompt with or without a schema.
    public static func answer(for prompt: String, schema: JSONValue?) -> String {
        if let schema { return json(for: prompt, schema: schema) }
        return text(for: prompt)
    }

    /// Tokens in a text, as the simulator bills them: about one per four characters.
    public static func tokens(_ text: String) -> Int {
        let count = text.unicodeScalars.count
        return count == 0 ? 0 : (count + 3) / 4
    }

    /// Thinking tokens billed for a prompt: deterministic, none at the `minimal` level.
    public static func thoughtTokens(for prompt: String, level: String?) -> Int {
        if level?.lowercased() == "minimal" { return 0 }
        var rng = SplitMix64(seed: PromptHash.value(prompt) ^ 0x7407_6874)
        return 16 + Int(rng.next() % 112)
    }

    static func generate(_ schema: JSONValue, root: JSONValue, rng: inout SplitMix64, depth: Int) -> JSONValue {
        guard depth < 16, case .object(let s) = schema else { return .string(word(&rng)) }
        if let ref = s["$ref"]?.stringValue, let target = resolve(ref, in: root) {
            return generate(target, root: root, rng: &rng, depth: depth + 1)
        }
        if let constant = s["const"] { return constant }
        if let options = s["enum"]?.arrayValue, !options.isEmpty {
            return options[Int(rng.next() % UInt64(options.count))]
        }
        for key in ["anyOf", "oneOf"] {
            if let branches = s[key]?.arrayValue, !branches.isEmpty {
                let nonNull = branches.filter { $0["type"]?.stringValue?.lowercased() != "null" }
                let pool = nonNull.isEmpty ? branches : nonNull
                return generate(pool[Int(rng.next() % UInt64(pool.count))], root: root, rng: &rng, depth: depth + 1)
            }
        }
        if let all = s["allOf"]?.arrayValue, let first = all.first {
            return generate(first, root: root, rng: &rng, depth: depth + 1)
        }
        var type = s["type"]?.stringValue?.lowercased()
        if let types = s["type"]?.arrayValue {
            let names = types.compactMap { $0.stringValue?.lowercased() }
            type = names.first { $0 != "null" } ?? names.first
        }
        if type == nil {
            if s["properties"] != nil { type = "object" } else if s["items"] != nil { type = "array" }
        }
        switch type {
        case "object":
            var object = JSONObject()
            let required = Set((s["required"]?.arrayValue ?? []).compactMap(\.stringValue))
            for member in s["properties"]?.objectValue ?? JSONObject() {
                // Optional properties are left out one time in four, as models do.
                if !required.contains(member.key), rng.next() % 4 == 0 { continue }
                object.append(member.key, generate(member.value, root: root, rng: &rng, depth: depth + 1))
            }
            return .object(object)
        case "array":
            let lower = s["minItems"]?.intValue ?? 1
            let upper = max(lower, s["maxItems"]?.intValue ?? max(lower, 3))
            let count = lower + Int(rng.next() % UInt64(upper - lower + 1))
            let items = s["items"] ?? ["type": "string"]
            return .array((0..<count).map { _ in generate(items, root: root, rng: &rng, depth: depth + 1) })
        case "integer":
            let low = s["minimum"]?.intValue ?? 0
            let high = max(low, s["maximum"]?.intValue ?? low + 100)
            return JSONValue(low + Int(rng.next() % UInt64(high - low + 1)))
        case "number":
            let low = s["minimum"]?.doubleValue ?? 0
            let high = max(low, s["maximum"]?.doubleValue ?? low + 100)
            let value = low + (high - low) * rng.unit()
            return .number(String(format2(value)))
        case "boolean":
            return .bool(rng.next() % 2 == 0)
        case "null":
            return .null
        default:
            switch s["format"]?.stringValue {
            case "date": return .string("2026-\(pad(1 + Int(rng.next() % 12)))-\(pad(1 + Int(rng.next() % 28)))")
            case "date-time": return .string("2026-\(pad(1 + Int(rng.next() % 12)))-\(pad(1 + Int(rng.next() % 28)))T12:00:00Z")
            default:
                let count = 1 + Int(rng.next() % 4)
                return .string((0..<count).map { _ in word(&rng) }.joined(separator: " "))
            }
        }
    }

    static func resolve(_ ref: String, in root: JSONValue) -> JSONValue? {
        guard ref.hasPrefix("#/") else { return nil }
        var node = root
        for part in ref.dropFirst(2).split(separator: "/") {
            guard let next = node[String(part)] else { return nil }
            node = next
        }
        return node
    }

    static func word(_ rng: inout SplitMix64) -> String { vocabulary[Int(rng.next() % UInt64(vocabulary.count))] }
    static func pad(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
    static func format2(_ value: Double) -> String {
        let cents = (value * 100).rounded()
        let whole = Int(cents / 100)
        let frac = Int(abs(cents).truncatingRemainder(dividingBy: 100))
        let sign = value < 0 && whole == 0 ? "-" : ""
        return "\(sign)\(whole).\(frac < 10 ? "0" : "")\(frac)"
    }

    static let vocabulary = [
        "amber", "harbor", "quiet", "rapid", "lattice", "meadow", "signal", "copper", "river", "summit",
        "velvet", "orbit", "canvas", "timber", "glacier", "pocket", "lantern", "mosaic", "ember", "willow",
        "compass", "ledger", "prism", "cascade", "falcon", "garden", "horizon", "island", "juniper", "kernel",
        "marble", "nectar", "oasis", "pebble", "quartz", "ripple", "saddle", "thistle", "umber", "vector",
        "wander", "yonder", "zephyr", "beacon", "cinder", "dune", "echo", "fable", "granite", "hollow",
        "indigo", "jasper", "kindle", "linen", "matrix", "north", "opal", "plume", "quill", "relay",
        "sable", "tundra", "unity", "violet",
    ]
}
