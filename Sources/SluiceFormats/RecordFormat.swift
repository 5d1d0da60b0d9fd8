/// The record formats Sluice reads and writes, chosen from the file extension unless told.
public enum RecordFormat: String, Sendable, CaseIterable {
    case csv, tsv, jsonl, xml

    /// The format a path implies (`.csv`, `.tsv`, `.jsonl`, `.ndjson`, `.xml`, each optionally `.gz`).
    public static func infer(fromPath path: String) -> RecordFormat? {
        var name = path.lowercased()
        if name.hasSuffix(".gz") { name.removeLast(3) }
        if name.hasSuffix(".csv") { return .csv }
        if name.hasSuffix(".tsv") || name.hasSuffix(".tab") { return .tsv }
        if name.hasSuffix(".jsonl") || name.hasSuffix(".ndjson") { return .jsonl }
        if name.hasSuffix(".xml") { return .xml }
        return nil
    }

    public init?(name: String) {
        switch name.lowercased() {
        case "csv": self = .csv
        case "tsv", "tab": self = .tsv
        case "jsonl", "ndjson", "json-lines": self = .jsonl
        case "xml": self = .xml
        default: return nil
        }
    }

    /// Tabular formats have a fixed column list and a cell for every field.
    public var isTabular: Bool { self == .csv || self == .tsv }

    /// Opens a streaming reader over `source`. CSV without a dialect is sniffed from the first 64 KiB.
    public func reader(_ source: PeekableSource, options: ReaderOptions = ReaderOptions()) throws(FormatError) -> any RecordReader {
        switch self {
        case .csv:
            var dialect = options.dialect
            if dialect == nil {
                let sampleSize = 1 << 16
                let sample = try source.peek(sampleSize)
                dialect = try CSVSniffer.sniff(sample, hasHeader: options.hasHeader, complete: sample.count < sampleSize, file: source.name)
            }
            return try CSVReader(source, dialect: dialect!, options: options)
        case .tsv:
            return try CSVReader(source, dialect: options.dialect ?? CSVDialect(delimiter: 0x09, hasHeader: options.hasHeader), options: options)
        case .jsonl:
            return JSONLReader(source, options: options)
        case .xml:
            return try XMLRecordReader(source, options: options)
        }
    }
}
