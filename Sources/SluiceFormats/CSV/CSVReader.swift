import SluiceJSON

/// RFC 4180 reader: quoted fields with doubled-quote escapes and embedded CR/LF, CRLF or LF rows,
/// a UTF-8 BOM skipped, an optional header row. Records carry their number, first line and byte
/// offset. A bad row (ragged, not UTF-8, a field over the size cap) is read to its end before
/// the error is thrown, so a caller that skips bad records goes on at the next row.
public final class CSVReader: RecordReader {
    public let dialect: CSVDialect
    public let options: ReaderOptions
    /// Field names: the header's cells, a blank cell named `column_N` (N its position) so a
    /// template can address it. The output header is `header`, never these names.
    public private(set) var columns: [String]?
    /// The header as the input spelled it, written back unchanged by the CSV writer.
    public private(set) var header: CSVHeader?
    public var name: String { bytes.name }

    private let bytes: ByteReader
    private var line = 1
    private var recordCount = 0
    private var field: [UInt8] = []
    /// The fields of the row being read, reused from row to row (no array per row).
    private var values: [String] = []
    /// Without a header: the first row's field count, which every later row must have.
    private var firstRowWidth: Int?
    /// While the header is read: whether each of its fields was quoted.
    private var quotedFields: [Bool]?

    public init(_ source: any ByteSource, dialect: CSVDialect = .csv, options: ReaderOptions = ReaderOptions()) throws(FormatError) {
        self.dialect = dialect
        self.options = options
        bytes = ByteReader(source)
        try skipByteOrderMark()
        if dialect.hasHeader {
            let header: Row?
            quotedFields = []
            defer { quotedFields = nil }
            do {
                header = try readRow()
            } catch {
                var error = error
                error.message = "header row: " + error.message
                error.record = nil
                throw error
            }
            guard let header else {
                columns = []
                return
            }
            if values.count > options.limits.maxColumns {
                throw FormatError(.tooManyColumns, "the header names \(values.count) columns, more than \(options.limits.maxColumns) (raise --max-columns if this is expected)",
                                  file: bytes.name, line: 1, byteOffset: header.offset)
            }
            var seen = Set<String>()
            for raw in values where !raw.isEmpty {
                let (inserted, first) = seen.insert(raw)
                if !inserted {
                    // Swift compares text canonically: "é" and "e\u{301}" are one name.
                    let spelling = Array(first.utf8) == Array(raw.utf8) ? "" : " (two Unicode spellings of the same text, which Sluice treats as one name)"
                    throw FormatError(.duplicateColumn, "the header names column '\(raw)' twice\(spelling)", file: bytes.name, line: 1, byteOffset: header.offset)
                }
            }
            var names: [String] = []
            for (i, raw) in values.enumerated() {
                guard raw.isEmpty else { names.append(raw); continue }
                // A blank cell (R's write.csv, a trailing delimiter) gets a name no other column has.
                var name = "column_\(i + 1)"
                while seen.contains(name) { name += "_" }
                seen.insert(name)
                names.append(name)
            }
            columns = names
            self.header = CSVHeader(cells: values, quoted: quotedFields ?? [], dialect: dialect)
        }
    }

    private func skipByteOrderMark() throws(FormatError) {
        let head = try bytes.available(atLeast: 3)
        if head.count >= 3, head[0] == 0xEF, head[1] == 0xBB, head[2] == 0xBF {
            bytes.consume(3)
        } else if head.count >= 2, (head[0] == 0xFF && head[1] == 0xFE) || (head[0] == 0xFE && head[1] == 0xFF) {
            throw FormatError(.unsupportedEncoding, "the file starts with a UTF-16 byte order mark; convert it to UTF-8 (iconv -f UTF-16 -t UTF-8)", file: bytes.name, byteOffset: 0)
        }
    }

    public func next() throws(FormatError) -> Record? {
        guard let row = try readRow() else { return nil }
        recordCount += 1
        var fields = JSONObject()
        if let columns {
            try fit(row, to: columns.count, "as in the header")
            fields.reserveCapacity(columns.count)
            for i in 0..<columns.count { fields.append(columns[i], .string(values[i])) }
        } else {
            guard values.count <= options.limits.maxColumns else {
                throw FormatError(.tooManyColumns, "the row has \(values.count) fields, more than \(options.limits.maxColumns) (raise --max-columns if this is expected)",
                                  file: bytes.name, record: recordCount, line: row.line, byteOffset: row.offset)
            }
            // Without a header the first row sets the width: a row that disagrees is as ragged
            // as under a header (it would otherwise lose or gain columns silently).
            if let width = firstRowWidth {
                try fit(row, to: width, "as in the first row")
            } else {
                firstRowWidth = values.count
            }
            for (i, value) in values.enumerated() { fields.append("column_\(i + 1)", .string(value)) }
        }
        return Record(number: recordCount, byteOffset: row.offset, line: row.line, fields: fields)
    }

    /// Applies the ragged-row policy to a row of `values` that should have `width` fields.
    private func fit(_ row: Row, to width: Int, _ reference: String) throws(FormatError) {
        guard values.count != width else { return }
        switch (options.raggedRows, values.count < width) {
        case (.pad, true), (.truncate, true):
            values += Array(repeating: "", count: width - values.count)
        case (.truncate, false):
            values.removeLast(values.count - width)
        default:
            var error = FormatError(.raggedRow, "expected \(width) fields \(reference), found \(values.count) reading with \(CSVSniffer.describe(dialect)) (--ragged-rows pad|truncate accepts such rows; --delimiter and --quote set the dialect)",
                                    file: bytes.name, record: recordCount, line: row.line, byteOffset: row.offset)
            error.text = rowText(values)
            throw error
        }
    }

    /// Where a row starts; its fields are in `values`.
    struct Row {
        var offset: Int64
        var line: Int
    }

    private func rowText(_ values: [String]) -> String {
        values.joined(separator: String(decoding: [dialect.delimiter], as: UTF8.self))
    }

    /// Reads one row's fields, skipping blank lines; nil at end of input. A problem found inside
    /// the row is thrown only once the row has been read to its end.
    private func readRow() throws(FormatError) -> Row? {
        while true {
            guard let first = try bytes.peek() else { return nil }
            if first == 0x0A || first == 0x0D {
                _ = try bytes.next()
                if first == 0x0D, try bytes.peek() == 0x0A { _ = try bytes.next() }
                line += 1
                continue
            }
            break
        }
        let offset = bytes.offset
        let startLine = line
        values.removeAll(keepingCapacity: true)
        var recordBytes = 0
        var problem: FormatError?
        let delimiter = dialect.delimiter
        let quote = dialect.quote
        let maxField = options.limits.maxFieldBytes
        func fail(_ code: FormatError.Code, _ message: String) {
            if problem == nil { problem = FormatError(code, message, file: bytes.name, record: recordCount + 1, line: startLine, byteOffset: offset) }
        }
        while true {
            // One field. Past the size cap bytes are still consumed, not kept.
            field.removeAll(keepingCapacity: true)
            var quoted = false
            if let quote, try bytes.peek() == quote {
                quoted = true
                _ = try bytes.next()
            }
            var endOfRow = false
            var endOfInput = false
            if quoted, let quote {
                // Runs between quotes and line breaks are copied whole.
                while true {
                    let chunk = try bytes.available()
                    if chunk.isEmpty {
                        var error = FormatError(.unterminatedQuote, "quoted field \(values.count + 1) is never closed (the file ends inside it; --quote none reads quote characters as data)",
                                                file: bytes.name, record: recordCount + 1, line: startLine, byteOffset: offset)
                        error.text = rowText(values + [String(decoding: field.prefix(200), as: UTF8.self)])
                        throw error
                    }
                    let i = ByteScan.firstOf(quote, 0x0A, 0x0D, in: chunk)
                    if i > 0 {
                        let room = max(0, maxField - field.count)
                        field.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<min(i, room)]))
                        if i > room { fail(.fieldTooLarge, tooLargeMessage) }
                    }
                    if i == chunk.count {
                        bytes.consume(i)
                        continue
                    }
                    let byte = chunk[i]
                    bytes.consume(i + 1)
                    if byte == quote {
                        if try bytes.peek() == quote {
                            _ = try bytes.next()
                            if field.count < maxField { field.append(byte) }
                            continue
                        }
                        break
                    }
                    if byte == 0x0A { line += 1 } else if try bytes.peek() != 0x0A { line += 1 }
                    if field.count < maxField { field.append(byte) } else { fail(.fieldTooLarge, tooLargeMessage) }
                }
            }
            // Unquoted part (or what follows a closing quote, kept as data like most readers do).
            // The common case, a whole unquoted field inside the buffer, becomes a String
            // straight from the buffer; others gather in `field` first.
            var direct: String?
            var fieldBytes = 0
            while true {
                let chunk = try bytes.available()
                if chunk.isEmpty { endOfInput = true; break }
                let i = ByteScan.firstOf(delimiter, 0x0A, 0x0D, in: chunk)
                let stop: UInt8? = i < chunk.count ? chunk[i] : nil
                if stop != nil, !quoted, field.isEmpty, i <= maxField {
                    fieldBytes = i
                    if problem == nil { direct = decode(UnsafeRawBufferPointer(rebasing: chunk[0..<i]), field: values.count + 1, fail: fail) }
                    bytes.consume(i)
                } else if i > 0 {
                    let room = max(0, maxField - field.count)
                    field.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<min(i, room)]))
                    if i > room { fail(.fieldTooLarge, tooLargeMessage) }
                    bytes.consume(i)
                }
                if let stop {
                    bytes.consume(1)
                    if stop != delimiter {
                        endOfRow = true
                        line += 1
                        if stop == 0x0D, try bytes.peek() == 0x0A { _ = try bytes.next() }
                    }
                    break
                }
            }
            recordBytes += direct == nil ? field.count : fieldBytes
            if recordBytes > options.limits.maxRecordBytes {
                fail(.recordTooLarge, "the record is larger than \(options.limits.maxRecordBytes) bytes (raise --max-record-bytes if this is expected)")
            }
            quotedFields?.append(quoted)
            if let direct {
                values.append(direct)
            } else if problem == nil {
                let value = field.withUnsafeBytes { decode($0, field: values.count + 1, fail: fail) }
                values.append(value)
            }
            if endOfRow || endOfInput {
                if var problem {
                    problem.text = rowText(values)
                    recordCount += 1
                    throw problem
                }
                return Row(offset: offset, line: startLine)
            }
        }
    }

    /// A field's bytes as a String: ASCII copied as is, anything else validated as UTF-8 and,
    /// when invalid, repaired (`--invalid-utf8 replace`) or reported.
    @inline(__always)
    private func decode(_ buffer: UnsafeRawBufferPointer, field number: Int, fail: (FormatError.Code, String) -> Void) -> String {
        let text = String(decoding: buffer, as: UTF8.self)
        let (nonASCII, nul) = ByteScan.classify(buffer)
        if nul {
            // Legal UTF-8, but in a CSV file a NUL means UTF-16 without a byte order mark, or binary.
            fail(.invalidUTF8, "field \(number) contains a NUL byte: the file may be UTF-16 without a byte order mark, or not text")
            return text
        }
        if !nonASCII || text.utf8.elementsEqual(buffer) { return text }
        if options.invalidUTF8 != .replace {
            fail(.invalidUTF8, "field \(number) is not valid UTF-8 (--invalid-utf8 replace substitutes U+FFFD)")
        }
        return text
    }

    private var tooLargeMessage: String {
        "a field is larger than \(options.limits.maxFieldBytes) bytes (raise --max-field-bytes if this is expected)"
    }
}
