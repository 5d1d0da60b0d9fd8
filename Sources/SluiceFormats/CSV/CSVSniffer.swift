/// Guesses a delimited file's dialect from a sample, DuckDB-style: each delimiter (`,` tab `;`
/// `|`) with and without `"` quoting splits the sample into rows, and the candidate whose rows
/// most consistently have the same number of fields (more than one) wins. Ties go to the more
/// common dialect: comma before tab, semicolon, pipe; quoting before none.
public enum CSVSniffer {
    public static let delimiters: [UInt8] = [UInt8(ascii: ","), 0x09, UInt8(ascii: ";"), UInt8(ascii: "|")]

    /// `complete`: the sample is the whole file (else its last, possibly cut, row is ignored).
    public static func sniff(_ sample: some Collection<UInt8>, hasHeader: Bool, complete: Bool) -> CSVDialect {
        let bytes = Array(sample)
        var best = CSVDialect(hasHeader: hasHeader)
        var bestScore: (Int, Double, Int) = (0, 0, 0)
        for delimiter in delimiters {
            for quote in [UInt8(ascii: "\""), nil] as [UInt8?] {
                let counts = fieldCounts(bytes, delimiter: delimiter, quote: quote, complete: complete)
                guard let score = self.score(counts) else { continue }
                if score > bestScore {
                    bestScore = score
                    best = CSVDialect(delimiter: delimiter, quote: quote, hasHeader: hasHeader)
                }
            }
        }
        return best
    }

    /// (has more than one column, share of rows with the modal field count, modal field count).
    static func score(_ counts: [Int]) -> (Int, Double, Int)? {
        guard !counts.isEmpty else { return nil }
        var frequency: [Int: Int] = [:]
        for c in counts { frequency[c, default: 0] += 1 }
        let (mode, seen) = frequency.max { ($0.value, $0.key) < ($1.value, $1.key) }!
        return (mode > 1 ? 1 : 0, Double(seen) / Double(counts.count), mode)
    }

    /// Fields per row, blank lines skipped; a row still open at the end of an incomplete sample is dropped.
    static func fieldCounts(_ bytes: [UInt8], delimiter: UInt8, quote: UInt8?, complete: Bool) -> [Int] {
        var counts: [Int] = []
        var fields = 1
        var inQuotes = false
        var rowHasContent = false
        var atFieldStart = true
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if inQuotes {
                if b == quote {
                    if i + 1 < bytes.count, bytes[i + 1] == quote { i += 1 } else { inQuotes = false }
                }
            } else if b == quote, quote != nil, atFieldStart {
                // Like the reader: a quote opens a quoted field only at the field's start.
                inQuotes = true
                rowHasContent = true
                atFieldStart = false
            } else if b == delimiter {
                fields += 1
                rowHasContent = true
                atFieldStart = true
            } else if b == 0x0A || b == 0x0D {
                if rowHasContent { counts.append(fields) }
                fields = 1
                rowHasContent = false
                atFieldStart = true
            } else {
                rowHasContent = true
                atFieldStart = false
            }
            i += 1
        }
        if complete, rowHasContent, !inQuotes { counts.append(fields) }
        return counts
    }
}
