import SluiceFormats
import SluiceJSON
import Testing

@Suite("CSV dialects and policies")
struct DialectTests {
    func sniff(_ text: String) throws -> CSVDialect {
        try CSVSniffer.sniff(Array(text.utf8), hasHeader: true, complete: true)
    }

    /// Issue 10.1: every row quotes fields that hold commas. Reading with quoting off gives more
    /// columns in every row, consistently — and once won, silently changing thousands of cells.
    @Test func quotedCommasKeepQuoting() throws {
        var text = "id,pos,shape,a,b,c,d,e,f,g\n"
        for i in 0..<200 { text += "\(i),\"3,3\",\"{\"\"x\"\":3,\"\"y\"\":7}\",a,b,c,d,e,f,g\n" }
        let dialect = try sniff(text)
        #expect(dialect == CSVDialect())
        let rows = try records(try RecordFormat.csv.reader(PeekableSource(MemorySource(text))))
        #expect(rows.count == 200)
        #expect(rows.allSatisfy { $0.fields.count == 10 && $0.fields["pos"] == "3,3" && $0.fields["shape"] == #"{"x":3,"y":7}"# })
    }

    /// A field that opens a quote and never closes it is a positioned error naming --quote none.
    @Test func unclosedQuoteIsAnErrorNotAnotherDialect() throws {
        let reader = try RecordFormat.csv.reader(PeekableSource(MemorySource("a,b\n1,\"oops\n2,3\n")))
        do {
            _ = try records(reader)
            Issue.record("unterminated quote accepted")
        } catch let error as FormatError {
            #expect(error.code == .unterminatedQuote)
            #expect(error.message.contains("--quote none"))
        }
    }

    /// Two delimiters that each split every row evenly: say so, do not guess.
    @Test func ambiguousDelimiterFailsLoudly() {
        #expect(throws: FormatError.self) { try sniff("a;b,c\n1;2,3\n4;5,6\n") }
        do {
            _ = try CSVSniffer.sniff(Array("a;b,c\n1;2,3\n4;5,6\n".utf8), hasHeader: true, complete: true)
        } catch {
            #expect(error.code == .ambiguousDialect)
            #expect(error.message.contains("--delimiter"))
        }
    }

    /// A header whose field count differs from most rows' under the sniffed dialect is refused.
    @Test func headerDisagreeingWithRowsIsRefused() {
        #expect(throws: FormatError.self) { try sniff("a,b\n1,2,3\n4,5,6\n7,8,9\n") }
    }

    @Test func sniffsDelimiterAndQuoting() throws {
        #expect(try sniff("a,b,c\n1,2,3\n4,5,6\n").delimiter == UInt8(ascii: ","))
        #expect(try sniff("a;b;c\n1,5;2;3\n4;5,5;6\n").delimiter == UInt8(ascii: ";"))
        #expect(try sniff("a\tb\n1\t2\n").delimiter == 0x09)
        #expect(try sniff("a|b|c\n1|2|3\n").delimiter == UInt8(ascii: "|"))
        // Quoted fields hide delimiters and newlines from the count.
        let quoted = try sniff("name,notes\n\"Smith, J\",\"line one\nline two\"\nDoe,plain\n")
        #expect(quoted.delimiter == UInt8(ascii: ","))
        #expect(quoted.quote == UInt8(ascii: "\""))
        // A single column: the default dialect.
        #expect(try sniff("name\nAcme\nGlobex\n") == CSVDialect())
    }

    @Test func sniffedReaderReadsSemicolonFiles() throws {
        let source = PeekableSource(MemorySource("id;name;price\n1;Acme;3,50\n2;\"Globex; Inc\";4,00\n"))
        let reader = try RecordFormat.csv.reader(source)
        let rows = try records(reader)
        #expect((reader as? CSVReader)?.dialect.delimiter == UInt8(ascii: ";"))
        #expect(rows.map { $0.fields["name"] } == ["Acme", "Globex; Inc"])
        #expect(rows[0].fields["price"] == "3,50")
    }

    @Test func explicitDialectWithoutQuotingOrHeader() throws {
        var options = ReaderOptions()
        options.hasHeader = false
        options.dialect = CSVDialect(delimiter: UInt8(ascii: "|"), quote: nil, hasHeader: false)
        let rows = try records(try RecordFormat.csv.reader(PeekableSource(MemorySource("5\" screen|\"quoted\"\n")), options: options))
        #expect(rows[0].fields == ["column_1": "5\" screen", "column_2": "\"quoted\""])
    }

    @Test func raggedRowPolicies() throws {
        let text = "a,b,c\n1,2\n1,2,3,4\n5,6,7\n"
        var options = ReaderOptions()
        options.dialect = .csv
        // fail: each ragged row is a record-level error and reading goes on after it.
        let failing = try CSVReader(MemorySource(text), options: options)
        var errors: [FormatError] = []
        var good: [Record] = []
        while true {
            do {
                guard let r = try failing.next() else { break }
                good.append(r)
            } catch {
                #expect(error.isRecordLevel)
                errors.append(error)
            }
        }
        #expect(errors.map(\.record) == [1, 2])
        #expect(errors.map(\.line) == [2, 3])
        #expect(errors[1].text == "1,2,3,4")
        #expect(good.map(\.number) == [3])

        options.raggedRows = .pad
        let padding = try CSVReader(MemorySource(text), options: options)
        #expect(try padding.next()?.fields == ["a": "1", "b": "2", "c": ""])
        #expect(throws: FormatError.self) { try padding.next() }
        #expect(try padding.next()?.number == 3)

        options.raggedRows = .truncate
        let rows = try records(try CSVReader(MemorySource(text), options: options))
        #expect(rows.map { $0.fields["c"] } == ["", "3", "7"])
    }

    @Test func invalidUTF8PolicyAndFieldSizeCap() throws {
        let bytes = Array("a,b\n".utf8) + [0x41, 0xFF, 0x42] + Array(",ok\nfine,row\n".utf8)
        var options = ReaderOptions()
        options.dialect = .csv
        let strict = try CSVReader(MemorySource(bytes: bytes), options: options)
        #expect(throws: FormatError.self) { try strict.next() }
        #expect(try strict.next()?.fields["a"] == "fine")

        options.invalidUTF8 = .replace
        let lenient = try CSVReader(MemorySource(bytes: bytes), options: options)
        #expect(try lenient.next()?.fields["a"] == "A\u{FFFD}B")

        options.limits.maxFieldBytes = 10
        let capped = try CSVReader(MemorySource("a,b\n\(String(repeating: "z", count: 50)),1\nshort,2\n"), options: options)
        do {
            _ = try capped.next()
            Issue.record("oversized field accepted")
        } catch {
            #expect(error.code == .fieldTooLarge)
            #expect(error.description.contains("--max-field-bytes"))
        }
        #expect(try capped.next()?.fields["a"] == "short")
    }

    @Test func jsonlLongLinesAndInvalidUTF8() throws {
        var options = ReaderOptions()
        options.limits.maxRecordBytes = 20
        let reader = JSONLReader(MemorySource("{\"a\":\"\(String(repeating: "x", count: 100))\"}\n{\"b\":1}\n"), options: options)
        #expect(throws: FormatError.self) { try reader.next() }
        #expect(try reader.next()?.fields["b"] == .number("1"))

        let bytes = Array("{\"a\":\"".utf8) + [0xC3, 0x28] + Array("\"}\n".utf8)
        #expect(throws: FormatError.self) { try JSONLReader(MemorySource(bytes: bytes)).next() }
        var lenient = ReaderOptions()
        lenient.invalidUTF8 = .replace
        #expect(try JSONLReader(MemorySource(bytes: bytes), options: lenient).next()?.fields["a"] == "\u{FFFD}(")
    }

    @Test func contentSniffingPicksTheFormat() throws {
        #expect(try InputFile.sniffFormat(PeekableSource(MemorySource("\u{FEFF}  <?xml version=\"1.0\"?><a/>"))) == .xml)
        #expect(try InputFile.sniffFormat(PeekableSource(MemorySource("\n{\"a\":1}\n"))) == .jsonl)
        #expect(try InputFile.sniffFormat(PeekableSource(MemorySource("a,b\n1,2\n"))) == .csv)
    }
}
