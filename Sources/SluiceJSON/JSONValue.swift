/// A JSON value that keeps object key order and number spelling, so records pass through
/// Sluice unchanged except for the columns it adds.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// The number as written (validated as RFC 8259 when parsed), so huge or precise numbers
    /// survive a round trip unchanged.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public init(_ value: Int) { self = .number(String(value)) }
    public init(_ value: Double) {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 {
            self = .number(String(Int64(value)))
        } else {
            self = .number(value.isFinite ? "\(value)" : "0")
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    public subscript(index: Int) -> JSONValue? {
        if case .array(let items) = self, items.indices.contains(index) { return items[index] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }
    public var doubleValue: Double? {
        if case .number(let n) = self { return Double(n) }
        return nil
    }
    public var intValue: Int? {
        if case .number(let n) = self { return Int(n) ?? Double(n).flatMap { $0 == $0.rounded() && abs($0) < 9e18 ? Int($0) : nil } }
        return nil
    }
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }
    public var isNull: Bool { self == .null }

    /// The JSON type name used in messages and schema checks.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(String(value)) }
    public init(floatLiteral value: Double) { self.init(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }
    public init(nilLiteral: ()) { self = .null }
}
