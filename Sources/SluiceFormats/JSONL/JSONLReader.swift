import SluiceJSON

/// JSON Lines: one JSON object per line (`\n` or `\r\n`), blank lines skipped and counted. A line
/// that is not a JSON object, too long or not UTF-8 is a bad record; the reader is past it when
/// the error is thrown, so a caller that skips bad records goes on at the next line.
public final class JSONLReader: RecordReader {
    public let options: ReaderOptions
    public var columns: [String]? { nil }
    public var name: String { bytes.name }
    /// Blank lines skipped so far.
    public private(set) var blankLines = 0

    private let bytes: ByteReader
    private var lineNumber = 0
    private var recordCount = 0
    private var lineBuffer: [UInt8] = []

    public init(_ source: any ByteSource, options: ReaderOptions = ReaderOptions()) {
        self.options = options
        bytes = ByteReader(source)
    }

    public func next() throws(FormatError) -> Record? {
        while true {
            let offset = bytes.offset
            guard let complete = try readLine() else { return nil }
            lineNumber += 1
            var body = lineBuffer[...]
            if lineNumber == 1, body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
            while let last = body.last, last == 0x20 || last == 0x09 || last == 0x0D { body = body.dropLast() }
            while let first = body.first, first == 0x20 || first == 0x09 { body = body.dropFirst() }
            if body.isEmpty, complete {
                blankLines += 1
                continue
            }
            recordCount += 1
            func bad(_ code: FormatError.Code, _ message: String) -> FormatError {
                var error = FormatError(code, message, file: bytes.name, record: recordCount, line: lineNumber, byteOffset: offset)
                error.text = String(decoding: body.prefix(4096), as: UTF8.self)
                return error
            }
            guard complete else {
                throw bad(.recordTooLarge, "the line is longer than \(options.limits.maxRecordBytes) bytes (raise --max-record-bytes if this is expected)")
            }
            var value: JSONValue
            do {
                value = try JSONParser.parse(body, loneSurrogates: options.invalidUTF8 == .replace ? .replace : .reject)
            } catch {
                guard options.invalidUTF8 == .replace, String(validating: body, as: UTF8.self) == nil,
                      let repaired = try? JSONParser.parse(Array(String(decoding: body, as: UTF8.self).utf8), loneSurrogates: .replace) else {
                    let hint = error.message.hasPrefix("unpaired surrogate") ? " (--invalid-utf8 replace reads it as U+FFFD)" : ""
                    throw bad(.invalidJSON, "not valid JSON: \(error.message) at column \(error.offset + 1)\(hint)")
                }
                value = repaired
            }
            guard case .object(let object) = value else {
                throw bad(.notAnObject, "the line is a JSON \(value.typeName), not an object")
            }
            return Record(number: recordCount, byteOffset: offset, line: lineNumber, fields: object)
        }
    }

    /// Reads up to and including the next `\n` into `lineBuffer` (without it): nil at end of
    /// input, false when the line was longer than the record cap (its head is kept, the rest skipped).
    private func readLine() throws(FormatError) -> Bool? {
        lineBuffer.removeAll(keepingCapacity: true)
        var sawAny = false
        var tooLong = false
        while true {
            let chunk = try bytes.available()
            if chunk.isEmpty { return sawAny ? !tooLong : nil }
            sawAny = true
            let newline = chunk.firstIndex(of: 0x0A)
            let end = newline ?? chunk.count
            if !tooLong {
                let room = options.limits.maxRecordBytes - lineBuffer.count
                lineBuffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<min(end, room)]))
                if end > room { tooLong = true }
            }
            if let newline {
                bytes.consume(newline + 1)
                return !tooLong
            }
            bytes.consume(chunk.count)
        }
    }
}
