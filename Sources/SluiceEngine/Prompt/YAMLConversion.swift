import SluiceJSON
import Yams

/// YAML front matter to JSON values, keeping mapping order (schema properties become columns
/// in that order).
enum YAMLConversion {
    static func json(_ node: Node) -> JSONValue {
        switch node {
        case .mapping(let mapping):
            var object = JSONObject()
            for (key, value) in mapping { object.append(key.string ?? "\(key)", json(value)) }
            return .object(object)
        case .sequence(let sequence):
            return .array(sequence.map(json))
        case .scalar(let scalar):
            if scalar.style == .plain {
                if node.null != nil { return .null }
                if let b = node.bool { return .bool(b) }
                if let i = node.int { return JSONValue(i) }
                if let d = node.float, d.isFinite { return .number(scalar.string) }
            }
            return .string(scalar.string)
        case .alias:
            return .null
        }
    }
}
