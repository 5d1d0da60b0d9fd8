/// How output records are written, beyond the format itself.
public struct WriterOptions: Sendable, Equatable {
    /// CSV/TSV: prefix `'` to cells a spreadsheet would run as formulas.
    public var formulaGuard = false
    /// XML from another format: the element of each record (default `record`).
    public var recordElement: String?

    public init() {}
}

extension RecordFormat {
    /// The writer for this output format, given the input it comes from: CSV to CSV keeps the
    /// input's delimiter and header spelling; XML to XML keeps the document (when the reader
    /// captured it); other formats are mapped as the README's table says.
    public func writer(sink: OutputSink, columns: [String], newFields: [String], inputFormat: RecordFormat,
                       reader: any RecordReader, options: WriterOptions = WriterOptions()) throws(FormatError) -> any RecordWriter {
        let csvInput = reader as? CSVReader
        switch self {
        case .csv:
            var dialect = CSVDialect.csv
            if inputFormat == .csv, let input = csvInput?.dialect { dialect.delimiter = input.delimiter }
            return try CSVWriter(sink: sink, columns: columns, dialect: dialect, formulaGuard: options.formulaGuard, inputHeader: csvInput?.header)
        case .tsv:
            return try CSVWriter(sink: sink, columns: columns, dialect: .tsv, formulaGuard: options.formulaGuard, inputHeader: csvInput?.header)
        case .jsonl:
            return JSONLWriter(sink: sink)
        case .xml:
            if let xml = reader as? XMLRecordReader, xml.capture != nil {
                return try XMLDocumentWriter(sink: sink, reader: xml, newFields: newFields)
            }
            return try XMLRecordWriter(sink: sink, recordElement: options.recordElement ?? "record")
        }
    }
}
