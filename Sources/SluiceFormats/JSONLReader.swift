import SluiceJSON

/// JSON Lines: one JSON object per line (`\n` or `\r\n`), blank lines skipped and counted.
public final class JSONLReader: RecordReader {
    public let limits: ReaderLimits
    public var columns: [String]? { nil }
    public var name: String { bytes.name }
    /// Blank lines skipped so far.
    public private(set) var blankLines = 0

    private let bytes: ByteReader
    private var lineNumber = 0
    private var recordCount = 0
    private var lineBuffer: [UInt8] = []

    public init(_ source: any ByteSource, limits: ReaderLimits = ReaderLimits()) {
        self.limits = limits
        bytes = ByteReader(source)
    }

    public func next() throws(FormatError) -> Record? {
        while true {
            let offset = bytes.offset
            guard try readLine() else { return nil }
            lineNumber += 1
            var body = lineBuffer[...]
            if lineNumber == 1, body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
            while let last = body.last, last == 0x20 || last == 0x09 || last == 0x0D { body = body.dropLast() }
            while let first = body.first, first == 0x20 || first == 0x09 { body = body.dropFirst() }
            if body.isEmpty {
                blankLines += 1
                continue
            }
            recordCount += 1
            let value: JSONValue
            do {
                value = try JSONParser.parse(body)
            } catch {
                throw FormatError(.invalidJSON, "not valid JSON: \(error.message) at column \(error.offset + 1)",
                                  file: bytes.name, record: recordCount, line: lineNumber, byteOffset: offset)
            }
            guard case .object(let object) = value else {
                throw FormatError(.notAnObject, "the line is a JSON \(value.typeName), not an object",
                                  file: bytes.name, record: recordCount, line: lineNumber, byteOffset: offset)
            }
            return Record(number: recordCount, byteOffset: offset, line: lineNumber, fields: object)
        }
    }

    /// Reads up to and including the next `\n` into `lineBuffer` (without it); false at end of input.
    private func readLine() throws(FormatError) -> Bool {
        lineBuffer.removeAll(keepingCapacity: true)
        var sawAny = false
        while true {
            let chunk = try bytes.available()
            if chunk.isEmpty { return sawAny }
            sawAny = true
            if let newline = chunk.firstIndex(of: 0x0A) {
                lineBuffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<newline]))
                bytes.consume(newline + 1)
                return true
            }
            lineBuffer.append(contentsOf: chunk)
            bytes.consume(chunk.count)
            if lineBuffer.count > limits.maxRecordBytes {
                throw FormatError(.recordTooLarge, "line is longer than \(limits.maxRecordBytes) bytes", file: bytes.name, record: recordCount + 1, line: lineNumber + 1, byteOffset: bytes.offset - Int64(lineBuffer.count))
            }
        }
    }
}
