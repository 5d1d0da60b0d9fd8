import SluiceJSON

/// XML in, XML out: writes the input document back as the reader passed through it, with each
/// record's new fields appended as child elements before its end tag, indented like its other
/// children. Declaration, namespaces, attributes, comments, processing instructions and elements
/// that are not records are kept.
public final class XMLDocumentWriter: RecordWriter {
    private let sink: OutputSink
    private let capture: XMLDocumentCapture
    private let newFields: [String]
    private var out: [UInt8] = []

    /// `newFields`: the fields Sluice adds (answer columns, error column), in order.
    public init(sink: OutputSink, reader: XMLRecordReader, newFields: [String]) throws(FormatError) {
        guard let capture = reader.capture else {
            throw FormatError(.io, "internal: the XML reader was not opened with captureDocument", file: sink.name)
        }
        self.sink = sink
        self.capture = capture
        self.newFields = newFields
    }

    public func write(_ fields: JSONObject) throws(FormatError) {
        out.removeAll(keepingCapacity: true)
        swap(&out, &capture.bytes)
        let indent = capture.childIndent.flatMap { $0.isEmpty ? nil : $0 }
        for name in newFields {
            guard let value = fields[name] else { continue }
            XMLText.appendElement(name: name, value: value, indent: indent, step: "  ", to: &out)
        }
        if let closing = capture.closingIndent { out.append(contentsOf: closing.utf8) }
        if let end = capture.pendingEndTag { out.append(contentsOf: end) }
        capture.pendingEndTag = nil
        capture.recordStart = 0
        try sink.write(out)
    }

    public func skip() { capture.dropRecord() }

    public func finish() throws(FormatError) {
        try sink.write(capture.bytes)
        capture.bytes.removeAll()
        try sink.finish()
    }
}
