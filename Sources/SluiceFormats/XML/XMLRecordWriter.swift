import SluiceJSON

/// Records from another format as an XML document: `<records><record>…</record></records>`, one
/// child element per field (names made valid XML names; objects nest, arrays repeat the element).
public final class XMLRecordWriter: RecordWriter {
    private let sink: OutputSink
    private let recordElement: String
    private let rootElement: String
    private var out: [UInt8] = []

    public init(sink: OutputSink, rootElement: String = "records", recordElement: String = "record") throws(FormatError) {
        self.sink = sink
        self.rootElement = XMLText.elementName(rootElement)
        self.recordElement = XMLText.elementName(recordElement)
        try sink.write(Array("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<\(self.rootElement)>\n".utf8))
    }

    public func write(_ fields: JSONObject) throws(FormatError) {
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: "  <\(recordElement)>".utf8)
        for (name, value) in fields {
            XMLText.appendElement(name: name, value: value, indent: "\n    ", step: "  ", to: &out)
        }
        out.append(contentsOf: "\n  </\(recordElement)>\n".utf8)
        try sink.write(out)
    }

    public func finish() throws(FormatError) {
        try sink.write(Array("</\(rootElement)>\n".utf8))
        try sink.finish()
    }
}
