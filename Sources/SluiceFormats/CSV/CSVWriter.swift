import SluiceJSON

/// RFC 4180 writer: quotes a field only when it holds the delimiter, a quote, CR or LF (or, with
/// `formulaGuard`, prefixes cells that a spreadsheet would run as a formula).
public final class CSVWriter: RecordWriter {
    public let columns: [String]
    public let dialect: CSVDialect
    private let sink: OutputSink
    private var row: [UInt8] = []

    /// Prefix `'` to cells a spreadsheet would evaluate (OWASP's CSV injection advice): those
    /// starting with `=`, `+`, `-`, `@`, tab or CR. Off by default: it changes the data, which
    /// machine pipelines do not want; on for files people open in Excel or Sheets.
    public let formulaGuard: Bool

    /// `inputHeader`: a CSV input's header, for which `columns` starts with the input's field
    /// names; it is written as the input spelled it (byte for byte when the delimiter and quote
    /// are the same: a header read with `--quote none` may hold bare quotes that this writer's
    /// quoting must escape), followed by the other columns' names.
    public init(sink: OutputSink, columns: [String], dialect: CSVDialect = .csv, formulaGuard: Bool = false, inputHeader: CSVHeader? = nil) throws(FormatError) {
        self.formulaGuard = formulaGuard
        self.sink = sink
        self.columns = columns
        self.dialect = dialect
        if dialect.hasHeader {
            row.removeAll(keepingCapacity: true)
            var first = 0
            if let inputHeader, inputHeader.cells.count <= columns.count {
                if inputHeader.delimiter == dialect.delimiter, inputHeader.quote == dialect.quote {
                    row.append(contentsOf: inputHeader.bytes)
                } else {
                    for (i, cell) in inputHeader.cells.enumerated() {
                        if i > 0 { row.append(dialect.delimiter) }
                        append(cell, guarding: false)
                    }
                }
                first = inputHeader.cells.count
            }
            for i in first..<columns.count {
                if i > 0 { row.append(dialect.delimiter) }
                append(columns[i])
            }
            endRow()
            try sink.write(row)
        }
    }

    public func write(_ fields: JSONObject) throws(FormatError) {
        row.removeAll(keepingCapacity: true)
        // Records usually hold the columns in order: take them by position, look up otherwise.
        let inOrder = fields.count >= columns.count
        for (i, name) in columns.enumerated() {
            if i > 0 { row.append(dialect.delimiter) }
            let value = inOrder && fields.member(at: i).key == name ? fields.member(at: i).value : fields[name]
            switch value {
            case nil, .null?: break
            case .string(let s)?: append(s)
            case .number(let n)?: append(n, guarding: false)
            case .bool(let b)?: append(b ? "true" : "false")
            case let value?: append(JSONWriter.string(value))
            }
        }
        endRow()
        try sink.write(row)
    }

    /// Ends the row. A row of one empty field would be a blank line, which readers (ours,
    /// Python's) skip: it is written `""`, as Python's `csv` writer does.
    private func endRow() {
        if row.isEmpty {
            let quote = dialect.quote ?? UInt8(ascii: "\"")
            row.append(contentsOf: [quote, quote])
        }
        row.append(0x0A)
    }

    private func append(_ text: String, guarding: Bool = true) {
        var text = text
        let quote = dialect.quote ?? UInt8(ascii: "\"")
        let delimiter = dialect.delimiter
        if formulaGuard, guarding, let first = text.utf8.first,
           first == UInt8(ascii: "=") || first == UInt8(ascii: "+") || first == UInt8(ascii: "-") || first == UInt8(ascii: "@") || first == 0x09 || first == 0x0D {
            text = "'" + text
        }
        text.withUTF8 { bytes in
            guard ByteScan.contains(delimiter, quote, 0x0A, 0x0D, in: UnsafeRawBufferPointer(bytes)) else {
                row.append(contentsOf: bytes)
                return
            }
            row.append(quote)
            var start = 0
            for (i, b) in bytes.enumerated() where b == quote {
                row.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...i]))
                row.append(quote)
                start = i + 1
            }
            row.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
            row.append(quote)
        }
    }

    public func finish() throws(FormatError) { try sink.finish() }
}
