import SluiceJSON

/// Writes output records: the input's fields in order with the new ones appended.
public protocol RecordWriter: AnyObject {
    func write(_ fields: JSONObject) throws(FormatError)
    /// Writes whatever is buffered and ends the stream (gzip trailer); the caller syncs and commits the file.
    func finish() throws(FormatError)
    /// Called for an input record that is not written (past `--limit`, or a skipped bad record).
    func skip()
}

extension RecordWriter {
    public func skip() {}
}
