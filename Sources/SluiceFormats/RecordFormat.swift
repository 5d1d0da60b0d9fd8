/// The record formats Sluice reads and writes, chosen from the file extension unless told.
public enum RecordFormat: String, Sendable, CaseIterable {
    case csv, tsv, jsonl

    /// The format a path implies (`.csv`, `.tsv`, `.jsonl`, `.ndjson`, each optionally `.gz`).
    public static func infer(fromPath path: String) -> RecordFormat? {
        var name = path.lowercased()
        if name.hasSuffix(".gz") { name.removeLast(3) }
        if name.hasSuffix(".csv") { return .csv }
        if name.hasSuffix(".tsv") || name.hasSuffix(".tab") { return .tsv }
        if name.hasSuffix(".jsonl") || name.hasSuffix(".ndjson") { return .jsonl }
        return nil
    }

    public init?(name: String) {
        switch name.lowercased() {
        case "csv": self = .csv
        case "tsv", "tab": self = .tsv
        case "jsonl", "ndjson", "json-lines": self = .jsonl
        default: return nil
        }
    }

    /// Opens a streaming reader over `source`.
    public func reader(_ source: any ByteSource, limits: ReaderLimits = ReaderLimits(), hasHeader: Bool = true) throws(FormatError) -> any RecordReader {
        switch self {
        case .csv: try CSVReader(source, dialect: CSVDialect(hasHeader: hasHeader), limits: limits)
        case .tsv: try CSVReader(source, dialect: CSVDialect(delimiter: 0x09, hasHeader: hasHeader), limits: limits)
        case .jsonl: JSONLReader(source, limits: limits)
        }
    }
}
