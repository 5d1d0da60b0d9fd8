import SluiceJSON

/// JSON Lines writer: each object's keys in order, one per line.
public final class JSONLWriter: RecordWriter {
    private let sink: OutputSink
    private var line: [UInt8] = []

    public init(sink: OutputSink) { self.sink = sink }

    public func write(_ fields: JSONObject) throws(FormatError) {
        line.removeAll(keepingCapacity: true)
        JSONWriter.write(.object(fields), into: &line)
        line.append(0x0A)
        try sink.write(line)
    }

    public func finish() throws(FormatError) { try sink.finish() }
}
