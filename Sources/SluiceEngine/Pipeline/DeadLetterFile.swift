import SluiceFormats
import SluiceJSON

/// Bad records skipped by `--on-bad-record skip`, one JSON object per line: record number, line,
/// byte offset, error code, message and the record's text as read. Created on the first bad
/// record and committed atomically with the output.
final class DeadLetterFile {
    let path: String
    private var file: AtomicFile?
    private var line: [UInt8] = []
    private(set) var count = 0

    init(path: String) { self.path = path }

    func append(_ error: FormatError) throws(FormatError) {
        if file == nil { file = try AtomicFile(path: path) }
        var entry = JSONObject()
        entry.append("record", error.record.map { JSONValue($0) } ?? .null)
        entry.append("line", error.line.map { JSONValue($0) } ?? .null)
        entry.append("byte_offset", error.byteOffset.map { .number(String($0)) } ?? .null)
        entry.append("error", .string(error.code.rawValue))
        entry.append("message", .string(error.message))
        entry.append("file", .string(error.file))
        entry.append("text", error.text.map(JSONValue.string) ?? .null)
        line.removeAll(keepingCapacity: true)
        JSONWriter.write(.object(entry), into: &line)
        line.append(0x0A)
        try file!.sink.write(line)
        count += 1
    }

    func commit() throws(FormatError) { try file?.commit() }
}
