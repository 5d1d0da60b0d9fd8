/// The document as the XML reader passed through it, re-serialized: everything outside records
/// and each record up to (not including) its end tag, so the preserving writer can append the new
/// child elements there and keep the rest of the document as it was.
public final class XMLDocumentCapture {
    var bytes: [UInt8] = []
    /// Where the current record's text starts in `bytes`.
    var recordStart = 0
    /// The current record's end tag, held back for the writer.
    var pendingEndTag: [UInt8]?
    /// Whitespace before the record's first child element, and before its end tag: new children
    /// are indented like the existing ones.
    var childIndent: String?
    var closingIndent: String?

    init() {}

    /// Drops what was captured of the current record (a bad record, or one past `--limit`).
    func dropRecord() {
        bytes.removeSubrange(recordStart...)
        pendingEndTag = nil
    }
}
