import SluiceFormats
import SluiceJSON

/// Bad records skipped by the `skip` bad-record policy, as JSON Lines: record number, line, byte
/// offset, error code, message and the record's text as read. Created on the first bad record
/// and committed atomically with the output.
final class DeadLetterFile {
    let path: String
    private var file: AtomicFile?
    private var writer: JSONLWriter?

    init(path: String) { self.path = path }

    func append(_ error: FormatError) throws(FormatError) {
        if writer == nil {
            let file = try AtomicFile(path: path)
            self.file = file
            writer = JSONLWriter(sink: file.sink)
        }
        try writer!.write([
            "record": error.record.map { JSONValue($0) } ?? .null,
            "line": error.line.map { JSONValue($0) } ?? .null,
            "byte_offset": error.byteOffset.map { .number(String($0)) } ?? .null,
            "error": .string(error.code.rawValue),
            "message": .string(error.message),
            "file": .string(error.file),
            "text": error.text.map(JSONValue.string) ?? .null,
        ])
    }

    func discard() { file?.discard() }

    func commit() throws(FormatError) {
        try writer?.finish()
        try file?.commit()
    }
}
