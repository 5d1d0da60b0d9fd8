/// Size limits that stop a hostile or broken file before it exhausts memory.
public struct ReaderLimits: Sendable, Equatable {
    public var maxFieldBytes = 1 << 20
    public var maxRecordBytes = 8 << 20
    /// Columns of a CSV header (or fields of a headerless row): a million-column header is an
    /// error, not a million-member object per record.
    public var maxColumns = 100_000
    public init() {}
}

/// What to do with a row whose field count differs from the header's.
public enum RaggedRowPolicy: String, Sendable, CaseIterable {
    /// The row is a bad record (default: the position is reported).
    case fail
    /// Short rows get empty fields; long rows are still bad records.
    case pad
    /// Short rows get empty fields; the extra fields of long rows are dropped.
    case truncate
}

/// What to do with bytes that are not UTF-8.
public enum InvalidUTF8Policy: String, Sendable, CaseIterable {
    /// The record is a bad record (default).
    case fail
    /// Each bad sequence becomes U+FFFD, as `String(decoding:as:)` does.
    case replace
}

/// How a reader parses its input; every policy is visible and overridable from the CLI.
public struct ReaderOptions: Sendable, Equatable {
    public var limits = ReaderLimits()
    /// CSV/TSV: the first row names the fields.
    public var hasHeader = true
    /// CSV: nil means sniff the dialect from the first 64 KiB. TSV: nil means tab, `"` quoting.
    public var dialect: CSVDialect?
    public var raggedRows = RaggedRowPolicy.fail
    public var invalidUTF8 = InvalidUTF8Policy.fail
    /// XML: the element that is a record; nil means the first child element of the root.
    public var recordElement: String?
    /// XML: allow internal entity declarations in the DOCTYPE (expansion stays bounded by libxml2).
    public var allowEntities = false

    public init() {}
}
