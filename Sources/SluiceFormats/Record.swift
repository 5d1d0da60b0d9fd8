import SluiceJSON

/// One input record: where it came from and its fields in input order.
public struct Record: Sendable {
    /// 1-based position among the records of the input (header rows and blank lines not counted).
    public var number: Int
    /// Byte offset of the record's first byte in the (decompressed) input.
    public var byteOffset: Int64
    /// 1-based line where the record starts.
    public var line: Int
    /// Field names to values: CSV cells as strings; JSON values as parsed.
    public var fields: JSONObject

    public init(number: Int, byteOffset: Int64, line: Int, fields: JSONObject) {
        self.number = number
        self.byteOffset = byteOffset
        self.line = line
        self.fields = fields
    }

    /// The value at a dotted path (`address.city`, `items.0.sku`), if present.
    public func value(at path: String) -> JSONValue? {
        if let direct = fields[path] { return direct }
        var node: JSONValue = .object(fields)
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            let key = String(part)
            if let next = node[key] {
                node = next
            } else if let index = Int(key), let next = node[index] {
                node = next
            } else {
                return nil
            }
        }
        return node
    }
}
