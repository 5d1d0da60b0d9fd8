import SluiceJSON

/// Checks an answer against the JSON Schema subset structured output uses: types, enums,
/// required properties, items, numeric bounds, minItems/maxItems. Returns the first violation.
public enum SchemaCheck {
    public static func violation(_ value: JSONValue, schema: JSONValue, path: String = "$", root: JSONValue? = nil, depth: Int = 0) -> String? {
        guard depth < 32, case .object(let s) = schema else { return nil }
        let root = root ?? schema
        if let ref = s["$ref"]?.stringValue, ref.hasPrefix("#/") {
            var node = root
            for part in ref.dropFirst(2).split(separator: "/") { node = node[String(part)] ?? .null }
            return violation(value, schema: node, path: path, root: root, depth: depth + 1)
        }
        if let options = s["enum"]?.arrayValue, !options.contains(value) { return "\(path) is \(value), not one of \(JSONValue.array(options))" }
        if let constant = s["const"], constant != value { return "\(path) must be \(constant)" }
        if let branches = s["anyOf"]?.arrayValue ?? s["oneOf"]?.arrayValue {
            if branches.allSatisfy({ violation(value, schema: $0, path: path, root: root, depth: depth + 1) != nil }) {
                return "\(path) matches none of the allowed shapes"
            }
        }
        var types: [String] = []
        if let t = s["type"]?.stringValue { types = [t.lowercased()] }
        if let ts = s["type"]?.arrayValue { types = ts.compactMap { $0.stringValue?.lowercased() } }
        if s["nullable"]?.boolValue == true { types.append("null") }
        if !types.isEmpty, !types.contains(where: { matches(value, $0) }) { return "\(path) is a \(value.typeName), expected \(types.joined(separator: " or "))" }
        switch value {
        case .object(let o):
            for name in (s["required"]?.arrayValue ?? []).compactMap(\.stringValue) where o[name] == nil {
                return "\(path).\(name) is required"
            }
            if let properties = s["properties"]?.objectValue {
                for member in o {
                    if let sub = properties[member.key], let v = violation(member.value, schema: sub, path: "\(path).\(member.key)", root: root, depth: depth + 1) { return v }
                }
            }
        case .array(let items):
            if let min = s["minItems"]?.intValue, items.count < min { return "\(path) has \(items.count) items, fewer than \(min)" }
            if let max = s["maxItems"]?.intValue, items.count > max { return "\(path) has \(items.count) items, more than \(max)" }
            if let itemSchema = s["items"] {
                for (i, item) in items.enumerated() {
                    if let v = violation(item, schema: itemSchema, path: "\(path)[\(i)]", root: root, depth: depth + 1) { return v }
                }
            }
        case .number:
            let x = value.doubleValue ?? 0
            if let min = s["minimum"]?.doubleValue, x < min { return "\(path) is below the minimum \(min)" }
            if let max = s["maximum"]?.doubleValue, x > max { return "\(path) is above the maximum \(max)" }
        default: break
        }
        return nil
    }

    static func matches(_ value: JSONValue, _ type: String) -> Bool {
        switch (type, value) {
        case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool), ("null", .null), ("number", .number): true
        case ("integer", .number(let n)): Double(n).map { $0 == $0.rounded() } ?? false
        default: false
        }
    }
}
