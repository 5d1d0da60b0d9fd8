/// A CSV header as the input spelled it: its cells (blank ones blank) and its bytes, rebuilt
/// from the cells and which of them were quoted (without the BOM and the line end). The CSV
/// writer writes it back unchanged, then the new column names (issue 10.2: generated names for
/// blank cells once replaced them in the output).
public struct CSVHeader: Sendable, Equatable {
    public var cells: [String]
    public var bytes: [UInt8]
    public var delimiter: UInt8
    /// The input's quote character (nil: `--quote none`). The bytes are only right for an output
    /// with the same delimiter and quote; any other dialect re-spells the cells.
    public var quote: UInt8?

    init(cells: [String], quoted: [Bool], dialect: CSVDialect) {
        self.cells = cells
        delimiter = dialect.delimiter
        quote = dialect.quote
        var out: [UInt8] = []
        let quote = dialect.quote ?? UInt8(ascii: "\"")
        for (i, cell) in cells.enumerated() {
            if i > 0 { out.append(dialect.delimiter) }
            guard i < quoted.count, quoted[i] else {
                out.append(contentsOf: cell.utf8)
                continue
            }
            out.append(quote)
            for b in cell.utf8 {
                if b == quote { out.append(quote) }
                out.append(b)
            }
            out.append(quote)
        }
        bytes = out
    }
}
