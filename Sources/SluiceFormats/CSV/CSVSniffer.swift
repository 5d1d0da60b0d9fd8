/// Guesses a delimited file's dialect from a sample, DuckDB-style: each delimiter (`,` tab `;`
/// `|`) splits the sample into rows, and the one whose rows most consistently have the same
/// number of fields (more than one) wins; ties go to comma, then tab, semicolon, pipe.
///
/// Quoting is always RFC 4180's `"`, never sniffed: "no quoting" once won because it split
/// `"3,3"` into *more* columns, and the run exited 0 with changed cells (issue 10.1). A field
/// that opens a quote and never closes it is then a positioned error whose message names
/// `--quote none`. A sniff that cannot decide — two delimiters that each split every row
/// evenly, or a header whose field count differs from the rows' — is an error that says which
/// flag settles it, never a silent guess.
public enum CSVSniffer {
    public static let delimiters: [UInt8] = [UInt8(ascii: ","), 0x09, UInt8(ascii: ";"), UInt8(ascii: "|")]

    /// `complete`: the sample is the whole file (else its last, possibly cut, row is ignored).
    public static func sniff(_ sample: some Collection<UInt8>, hasHeader: Bool, complete: Bool, file: String = "input") throws(FormatError) -> CSVDialect {
        let bytes = Array(sample)
        var candidates: [(dialect: CSVDialect, score: Score, counts: [Int])] = []
        for delimiter in delimiters {
            let dialect = CSVDialect(delimiter: delimiter, hasHeader: hasHeader)
            let counts = fieldCounts(bytes, delimiter: delimiter, quote: dialect.quote!, complete: complete)
            guard let score = Score(counts) else { continue }
            candidates.append((dialect, score, counts))
        }
        guard var best = candidates.first else { return CSVDialect(hasHeader: hasHeader) }
        for c in candidates.dropFirst() where c.score > best.score { best = c }
        guard best.score.mode > 1 else { return CSVDialect(hasHeader: hasHeader) }

        let even = candidates.filter { $0.score.share == 1 && $0.score.mode > 1 }
        if even.count > 1 {
            let readings = even.map { "\(describe($0.dialect.delimiter)) gives \($0.score.mode) fields" }.joined(separator: ", ")
            throw FormatError(.ambiguousDialect, "cannot tell the delimiter: in every sampled row \(readings); pass --delimiter", file: file, line: 1, byteOffset: 0)
        }
        if hasHeader, let header = best.counts.first, best.score.share < 1, header != best.score.mode {
            throw FormatError(.ambiguousDialect, "the sniffed dialect (\(describe(best.dialect))) gives the header \(header) fields but most rows \(best.score.mode); pass --delimiter and --quote",
                              file: file, line: 1, byteOffset: 0)
        }
        return best.dialect
    }

    /// `,` / `tab` / `;` / `|` / the character.
    public static func describe(_ delimiter: UInt8) -> String {
        switch delimiter {
        case 0x09: "tab"
        default: "'\(String(decoding: [delimiter], as: UTF8.self))'"
        }
    }

    /// "delimiter ',', quote '\"'" or "delimiter ';', no quoting": for messages and -v logs.
    public static func describe(_ dialect: CSVDialect) -> String {
        "delimiter \(describe(dialect.delimiter)), " + (dialect.quote.map { "quote '\(String(decoding: [$0], as: UTF8.self))'" } ?? "no quoting")
    }

    /// Ordered: more than one column, then the share of rows with the modal count, then that count.
    struct Score: Comparable {
        var multi: Int
        var share: Double
        var mode: Int

        init?(_ counts: [Int]) {
            guard !counts.isEmpty else { return nil }
            var frequency: [Int: Int] = [:]
            for c in counts { frequency[c, default: 0] += 1 }
            let (mode, seen) = frequency.max { ($0.value, $0.key) < ($1.value, $1.key) }!
            self.multi = mode > 1 ? 1 : 0
            self.share = Double(seen) / Double(counts.count)
            self.mode = mode
        }

        static func < (a: Score, b: Score) -> Bool { (a.multi, a.share, a.mode) < (b.multi, b.share, b.mode) }
    }

    /// Fields per row as the reader splits them, blank lines skipped; a row still open at the
    /// end of the sample is dropped.
    static func fieldCounts(_ bytes: [UInt8], delimiter: UInt8, quote: UInt8, complete: Bool) -> [Int] {
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
            } else if b == quote, atFieldStart {
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
