/// Bad input, with the file, record, line and byte offset it is about.
public struct FormatError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Code: String, Sendable {
        case unterminatedQuote = "unterminated-quote"
        case invalidUTF8 = "invalid-utf8"
        case fieldTooLarge = "field-too-large"
        case recordTooLarge = "record-too-large"
        case raggedRow = "ragged-row"
        case notAnObject = "not-an-object"
        case invalidJSON = "invalid-json"
        case unsupportedEncoding = "unsupported-encoding"
        case emptyHeader = "empty-header"
        case duplicateColumn = "duplicate-column"
        case tooManyColumns = "too-many-columns"
        case io = "io"
        case corruptCompressedData = "corrupt-compressed-data"
        case invalidXML = "invalid-xml"
        /// The CSV dialect could not be sniffed with certainty; `--delimiter` / `--quote` settle it.
        case ambiguousDialect = "ambiguous-dialect"
        /// `--record-element` names no element of the document.
        case noSuchRecordElement = "no-such-record-element"
    }

    public var code: Code
    public var message: String
    public var file: String
    /// 1-based record number, when the error is about a record.
    public var record: Int?
    public var line: Int?
    public var byteOffset: Int64?
    /// The bad record as read (lossily decoded), for the dead-letter file.
    public var text: String?

    public init(_ code: Code, _ message: String, file: String, record: Int? = nil, line: Int? = nil, byteOffset: Int64? = nil) {
        self.code = code
        self.message = message
        self.file = file
        self.record = record
        self.line = line
        self.byteOffset = byteOffset
    }

    /// True when the error is about one record and the reader has moved past it: with
    /// `--on-bad-record skip` reading goes on with the next record.
    public var isRecordLevel: Bool {
        guard record != nil else { return false }
        switch code {
        case .unterminatedQuote, .invalidUTF8, .fieldTooLarge, .recordTooLarge, .raggedRow, .notAnObject, .invalidJSON, .tooManyColumns: return true
        default: return false
        }
    }

    /// `data.csv: record 17 (line 18, byte 2041): unterminated quoted field`
    public var description: String {
        var position: [String] = []
        if let line { position.append("line \(line)") }
        if let byteOffset { position.append("byte \(byteOffset)") }
        var text = file
        if let record { text += ": record \(record)" }
        if !position.isEmpty { text += record == nil ? ": \(position.joined(separator: ", "))" : " (\(position.joined(separator: ", ")))" }
        return "\(text): \(message)"
    }
}
