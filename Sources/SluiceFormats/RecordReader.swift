/// Yields records one at a time, streaming: memory does not grow with the input.
public protocol RecordReader: AnyObject {
    /// The next record, or nil at the end of the input.
    func next() throws(FormatError) -> Record?
    /// Field names known before the first record (a CSV header); nil when each record brings its own.
    var columns: [String]? { get }
    /// Name of the input in messages.
    var name: String { get }
    /// Doubts about a guess the reader made (a default XML record element that may be the wrong
    /// one), for the caller to print before any request.
    var warnings: [String] { get }
}

extension RecordReader {
    public var warnings: [String] { [] }
}
