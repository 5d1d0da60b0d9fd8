import SluiceJSON

/// RFC 4180 reader: quoted fields with `""` escapes and embedded CR/LF, CRLF or LF rows, a UTF-8
/// BOM skipped, a header row. Records carry their number, first line and byte offset.
public final class CSVReader: RecordReader {
    public let dialect: CSVDialect
    public let limits: ReaderLimits
    public private(set) var columns: [String]?
    public var name: String { bytes.name }

    private let bytes: ByteReader
    private var line = 1
    private var recordCount = 0
    private var field: [UInt8] = []

    public init(_ source: any ByteSource, dialect: CSVDialect = .csv, limits: ReaderLimits = ReaderLimits()) throws(FormatError) {
        self.dialect = dialect
        self.limits = limits
        bytes = ByteReader(source)
        try skipByteOrderMark()
        if dialect.hasHeader {
            guard let (names, _, _) = try readRow() else {
                columns = []
                return
            }
            var seen = Set<String>()
            for (i, raw) in names.enumerated() {
                let name = raw.isEmpty ? "column_\(i + 1)" : raw
                if !seen.insert(name).inserted {
                    throw FormatError(.duplicateColumn, "the header names column '\(name)' twice", file: bytes.name, line: 1, byteOffset: 0)
                }
            }
            columns = names.enumerated().map { $0.element.isEmpty ? "column_\($0.offset + 1)" : $0.element }
        }
    }

    private func skipByteOrderMark() throws(FormatError) {
        let head = try bytes.available()
        if head.count >= 3, head[0] == 0xEF, head[1] == 0xBB, head[2] == 0xBF {
            bytes.consume(3)
        } else if head.count >= 2, (head[0] == 0xFF && head[1] == 0xFE) || (head[0] == 0xFE && head[1] == 0xFF) {
            throw FormatError(.unsupportedEncoding, "the file starts with a UTF-16 byte order mark; convert it to UTF-8 (iconv -f UTF-16 -t UTF-8)", file: bytes.name, byteOffset: 0)
        }
    }

    public func next() throws(FormatError) -> Record? {
        guard let (values, offset, startLine) = try readRow() else { return nil }
        recordCount += 1
        var fields = JSONObject()
        if let columns {
            guard values.count == columns.count else {
                throw FormatError(.raggedRow, "expected \(columns.count) fields as in the header, found \(values.count)",
                                  file: bytes.name, record: recordCount, line: startLine, byteOffset: offset)
            }
            for (name, value) in zip(columns, values) { fields.append(name, .string(value)) }
        } else {
            for (i, value) in values.enumerated() { fields.append("column_\(i + 1)", .string(value)) }
        }
        return Record(number: recordCount, byteOffset: offset, line: startLine, fields: fields)
    }

    /// Reads one row's fields, skipping blank lines; nil at end of input.
    private func readRow() throws(FormatError) -> ([String], Int64, Int)? {
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
        var values: [String] = []
        var recordBytes = 0
        let delimiter = dialect.delimiter
        let quote = dialect.quote
        while true {
            // One field.
            field.removeAll(keepingCapacity: true)
            var quoted = false
            if let quote, try bytes.peek() == quote {
                quoted = true
                _ = try bytes.next()
            }
            var endOfRow = false
            var endOfInput = false
            if quoted {
                while true {
                    guard let byte = try bytes.next() else {
                        throw FormatError(.unterminatedQuote, "quoted field is never closed (the file ends inside it)",
                                          file: bytes.name, record: recordCount + 1, line: startLine, byteOffset: offset)
                    }
                    if byte == quote {
                        if try bytes.peek() == quote {
                            _ = try bytes.next()
                            field.append(byte)
                            continue
                        }
                        break
                    }
                    if byte == 0x0A { line += 1 } else if byte == 0x0D, try bytes.peek() != 0x0A { line += 1 }
                    field.append(byte)
                    if field.count > limits.maxFieldBytes { throw tooLarge(offset: offset, line: startLine) }
                }
            }
            // Unquoted part (or what follows a closing quote, kept as data like most readers do).
            while true {
                let chunk = try bytes.available()
                if chunk.isEmpty { endOfInput = true; break }
                var i = 0
                var stop: UInt8? = nil
                while i < chunk.count {
                    let b = chunk[i]
                    if b == delimiter || b == 0x0A || b == 0x0D { stop = b; break }
                    i += 1
                }
                if i > 0 {
                    field.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<i]))
                    bytes.consume(i)
                    if field.count > limits.maxFieldBytes { throw tooLarge(offset: offset, line: startLine) }
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
            guard let value = String(validating: field, as: UTF8.self) else {
                throw FormatError(.invalidUTF8, "field \(values.count + 1) is not valid UTF-8",
                                  file: bytes.name, record: recordCount + 1, line: startLine, byteOffset: offset)
            }
            recordBytes += field.count
            if recordBytes > limits.maxRecordBytes {
                throw FormatError(.recordTooLarge, "record is larger than \(limits.maxRecordBytes) bytes", file: bytes.name, record: recordCount + 1, line: startLine, byteOffset: offset)
            }
            values.append(value)
            if endOfRow || endOfInput { return (values, offset, startLine) }
        }
    }

    private func tooLarge(offset: Int64, line: Int) -> FormatError {
        FormatError(.fieldTooLarge, "a field is larger than \(limits.maxFieldBytes) bytes (raise --max-field-bytes if this is expected)",
                    file: bytes.name, record: recordCount + 1, line: line, byteOffset: offset)
    }
}
