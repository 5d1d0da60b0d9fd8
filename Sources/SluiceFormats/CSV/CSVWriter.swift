import SluiceJSON

/// RFC 4180 writer: quotes a field only when it holds the delimiter, a quote, CR or LF (or, with
/// `formulaGuard`, prefixes cells that a spreadsheet would run as a formula).
public final class CSVWriter: RecordWriter {
    public let columns: [String]
    public let dialect: CSVDialect
    private let sink: OutputSink
    private var row: [UInt8] = []

    public init(sink: OutputSink, columns: [String], dialect: CSVDialect = .csv) throws(FormatError) {
        self.sink = sink
        self.columns = columns
        self.dialect = dialect
        if dialect.hasHeader {
            row.removeAll(keepingCapacity: true)
            for (i, name) in columns.enumerated() {
                if i > 0 { row.append(dialect.delimiter) }
                append(name)
            }
            row.append(0x0A)
            try sink.write(row)
        }
    }

    public func write(_ fields: JSONObject) throws(FormatError) {
        row.removeAll(keepingCapacity: true)
        for (i, name) in columns.enumerated() {
            if i > 0 { row.append(dialect.delimiter) }
            switch fields[name] {
            case nil, .null?: break
            case .string(let s)?: append(s)
            case .number(let n)?: append(n)
            case .bool(let b)?: append(b ? "true" : "false")
            case let value?: append(JSONWriter.string(value))
            }
        }
        row.append(0x0A)
        try sink.write(row)
    }

    private func append(_ text: String) {
        let quote = dialect.quote ?? UInt8(ascii: "\"")
        var needsQuotes = false
        for b in text.utf8 where b == dialect.delimiter || b == quote || b == 0x0A || b == 0x0D {
            needsQuotes = true
            break
        }
        guard needsQuotes else {
            row.append(contentsOf: text.utf8)
            return
        }
        row.append(quote)
        for b in text.utf8 {
            if b == quote { row.append(quote) }
            row.append(b)
        }
        row.append(quote)
    }

    public func finish() throws(FormatError) { try sink.finish() }
}
