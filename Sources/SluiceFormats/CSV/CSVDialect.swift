/// How a delimited file is written: delimiter, quote character, header row.
public struct CSVDialect: Sendable, Equatable {
    public var delimiter: UInt8
    /// nil: no quoting at all (every quote character is data).
    public var quote: UInt8?
    public var hasHeader: Bool

    public init(delimiter: UInt8 = UInt8(ascii: ","), quote: UInt8? = UInt8(ascii: "\""), hasHeader: Bool = true) {
        self.delimiter = delimiter
        self.quote = quote
        self.hasHeader = hasHeader
    }

    public static let csv = CSVDialect()
    public static let tsv = CSVDialect(delimiter: UInt8(ascii: "\t"))
}
