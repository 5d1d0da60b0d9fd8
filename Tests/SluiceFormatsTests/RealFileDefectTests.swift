import Foundation
import SluiceFormats
import SluiceJSON
import Testing

/// Defects found by running Sluice over published datasets (issue 10), each on a fixture that
/// reproduces it.
@Suite("Real files, read right")
struct RealFileDefectTests {
    /// Writes every record back through the preserving XML writer, with `add` as a new field.
    static func roundTrip(_ xml: String, add: String? = nil) throws -> String {
        let dir = TempDir()
        let out = dir.file("out.xml")
        let reader = try XMLRecordReader(MemorySource(xml, name: "in.xml"), captureDocument: true)
        let file = try AtomicFile(path: out)
        let writer = try XMLDocumentWriter(sink: file.sink, reader: reader, newFields: add.map { [$0] } ?? [])
        while let record = try reader.next() {
            var fields = record.fields
            if let add { fields[add] = "x" }
            try writer.write(fields)
        }
        try writer.finish()
        try file.commit()
        return try String(contentsOfFile: out, encoding: .utf8)
    }

    /// 10.2: blank header cells keep their spelling in the output; templates address them as column_N.
    @Test func blankHeaderCellsAreWrittenBackUnchanged() throws {
        for header in [#","x","y""#, "a,b,", #""",a,"b""c""#] {
            let reader = try CSVReader(MemorySource(header + "\n1,2,3\n"))
            let columns = try #require(reader.columns)
            #expect(columns.count == 3)
            #expect(Set(columns).count == 3)
            let record = try #require(try reader.next())
            let dir = TempDir()
            let file = try AtomicFile(path: dir.file("o.csv"))
            let writer = try CSVWriter(sink: file.sink, columns: columns + ["answer"], inputHeader: reader.header)
            var fields = record.fields
            fields["answer"] = "A"
            try writer.write(fields)
            try writer.finish()
            try file.commit()
            let text = try String(contentsOfFile: dir.file("o.csv"), encoding: .utf8)
            #expect(text == header + ",answer\n1,2,3,A\n", "\(header)")
        }
        // A generated name never takes a real column's name.
        let clash = try CSVReader(MemorySource(",column_1\n1,2\n"))
        #expect(clash.columns == ["column_1_", "column_1"])
    }

    /// 10.3: an `xml:id` that is not an NCName is a validity warning; the file is read and kept.
    @Test func validityDiagnosticsDoNotStopTheRead() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <doc>
              <item xml:id="1 not an ncname"><v>a</v></item>
              <item xml:id="2"><v>b</v></item>
            </doc>

            """
        let rows = try records(try XMLRecordReader(MemorySource(xml, name: "ids.xml")))
        #expect(rows.map { $0.fields["v"] } == ["a", "b"])
        #expect(rows[0].fields["xml:id"] == "1 not an ncname")
        #expect(try Self.roundTrip(xml) == xml)
        // Well-formedness errors still stop it.
        #expect(throws: FormatError.self) { try records(try XMLRecordReader(MemorySource("<doc><item a='1' a='2'/></doc>"))) }
        #expect(throws: FormatError.self) { try records(try XMLRecordReader(MemorySource("<doc><p:item/></doc>"))) }
    }

    /// 10.5: a --record-element that matches nothing names the element and those found.
    @Test func recordElementMatchingNothingIsAnError() throws {
        var options = ReaderOptions()
        options.recordElement = "entry"
        let reader = try XMLRecordReader(MemorySource("<feed><item/><item/><meta/></feed>", name: "f.xml"), options: options)
        do {
            _ = try records(reader)
            Issue.record("no error")
        } catch let error as FormatError {
            #expect(error.code == .noSuchRecordElement)
            #expect(error.message.contains("entry"))
            #expect(error.message.contains("<item> (2)"))
            #expect(error.message.contains("<feed> (1)"))
        }
    }

    /// 10.5: an Atom feed's records are its entries, not its two links; one <channel> holding
    /// many <item>s is read as asked but warned about.
    @Test func defaultRecordElementOfFeeds() throws {
        let atom = """
            <feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>
            <link href="a"/><link rel="self" href="b"/>
            <entry><title>1</title></entry><entry><title>2</title></entry><entry><title>3</title></entry>
            </feed>
            """
        let reader = try XMLRecordReader(MemorySource(atom, name: "atom.xml"))
        #expect(try records(reader).map { $0.fields["title"] } == ["1", "2", "3"])
        #expect(reader.recordElement == "entry")
        #expect(reader.warnings.isEmpty)

        let rss = "<rss><channel><title>T</title><item><title>1</title></item><item><title>2</title></item></channel></rss>"
        let single = try XMLRecordReader(MemorySource(rss, name: "rss.xml"))
        #expect(try records(single).count == 1)
        #expect(single.warnings.count == 1)
        #expect(single.warnings.first?.contains("<item> (2 inside <channel>)") == true, "\(single.warnings)")
        #expect(single.warnings.first?.contains("--record-element") == true)
    }

    /// 10.7: a redundant xmlns:xml declaration is kept in the output.
    @Test func redundantXMLNamespaceDeclarationIsKept() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xml="http://www.w3.org/XML/1998/namespace" targetNamespace="urn:x">
              <xs:element name="a" xml:lang="en"><xs:annotation/></xs:element>
              <xs:element name="b"><xs:annotation/></xs:element>
              <inner xmlns:xml="http://www.w3.org/XML/1998/namespace"><xs:element name="c"/></inner>
            </xs:schema>

            """
        let out = try Self.roundTrip(xml)
        #expect(out == xml, "\(out)")
    }

    /// Found while fuzzing (issue 10.6): bytes that are not valid in the declared encoding stopped
    /// the reader with a bare "malformed XML" and libxml2's own lines on stderr; now the error
    /// names the line, the column and the encoding.
    @Test func encodingFailureNamesWhereAndWhich() throws {
        var bytes = Array("<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>\n<r><item>ok</item><item>a".utf8)
        bytes += [0x82, 0xFF]
        bytes += Array("</item><item>later</item></r>\n".utf8)
        let reader = try XMLRecordReader(MemorySource(bytes: bytes, name: "sj.xml", chunk: 1 << 16))
        do {
            _ = try records(reader)
            Issue.record("a document with bytes outside its encoding was read")
        } catch let error as FormatError {
            #expect(error.code == .invalidXML)
            #expect(error.line == 2, "\(error)")
            #expect(error.message.contains("Shift_JIS"), "\(error)")
        }
    }

    /// Found by the CSV fuzz target: CSV writer round trips that changed records.
    @Test func writerKeepsSingleEmptyFieldsAndRespellsHeadersReadWithoutQuoting() throws {
        // A one-column row holding "" was written as a blank line, which every reader skips.
        let sink = OutputSink.memory(name: "out.csv")
        let writer = try CSVWriter(sink: sink, columns: ["a"])
        for value in ["x", "", "y"] { try writer.write(JSONObject([("a", .string(value))])) }
        try writer.finish()
        #expect(String(decoding: sink.keptBytes, as: UTF8.self) == "a\nx\n\"\"\ny\n")
        #expect(try records(CSVReader(MemorySource(bytes: sink.keptBytes))).map { $0.fields["a"] } == ["x", "", "y"])

        // A header read with --quote none holds bare quotes: copied byte for byte into a quoted
        // output it no longer read back.
        let none = try CSVReader(MemorySource("say \"hi\",b\n1,2\n"), dialect: CSVDialect(quote: nil))
        let rows = try records(none)
        let out = OutputSink.memory(name: "out.csv")
        let rewrite = try CSVWriter(sink: out, columns: none.columns!, inputHeader: none.header)
        for row in rows { try rewrite.write(row.fields) }
        try rewrite.finish()
        let back = try CSVReader(MemorySource(bytes: out.keptBytes))
        #expect(back.columns == ["say \"hi\"", "b"], "\(String(decoding: out.keptBytes, as: UTF8.self))")
    }

    /// Found by the Python conformance suite: `json.dumps("\ud800")` writes an escaped lone
    /// surrogate, which Python reads back as such. No Unicode text holds it, and turning it into
    /// U+FFFD was an exit 0 with a changed cell; now it is a bad record unless --invalid-utf8 replace.
    @Test func loneSurrogateEscapesAreBadRecordsUnlessReplacing() throws {
        let text = "{\"a\":\"x\\ud800y\"}\n{\"a\":\"\\udc00\"}\n{\"a\":\"\\ud83d\\ude00\"}\n"
        let strict = JSONLReader(MemorySource(text, name: "s.jsonl"))
        for column in [8, 7] {
            do {
                _ = try strict.next()
                Issue.record("a lone surrogate was read")
            } catch {
                #expect(error.description.hasSuffix("not valid JSON: unpaired surrogate escape (no Unicode text can hold it) at column \(column) (--invalid-utf8 replace reads it as U+FFFD)"), "\(error)")
            }
        }
        #expect(try strict.next()?.fields == ["a": .string("\u{1F600}")])
        var options = ReaderOptions()
        options.invalidUTF8 = .replace
        let lenient = JSONLReader(MemorySource(text, name: "s.jsonl"), options: options)
        #expect(try records(lenient).map { $0.fields["a"] } == ["x\u{FFFD}y", "\u{FFFD}", "\u{1F600}"])
    }

    /// Found by the Python conformance suite: with --delimiter or --quote nothing is sniffed, so
    /// the first read returned only the two bytes peeked for the gzip magic and a UTF-8 BOM
    /// stayed in the first header name ("\u{FEFF}id": a template's {{id}} was missing).
    @Test func byteOrderMarkIsSkippedWhateverTheFirstReadReturns() throws {
        for chunk in [1, 2, 3, 4, 1 << 16] {
            let reader = try CSVReader(MemorySource(bytes: [0xEF, 0xBB, 0xBF] + Array("\"id\";b\n1;2\n".utf8), chunk: chunk), dialect: CSVDialect(delimiter: UInt8(ascii: ";")))
            #expect(reader.columns == ["id", "b"], "chunk \(chunk)")
            #expect(try records(reader).map { $0.fields["id"] } == ["1"])
        }
    }

    /// Found by the Python conformance suite: without a header, a row with fewer or more fields
    /// than the first was read as it came, so its record lacked (or gained) columns silently.
    @Test func headerlessRowsAreRaggedAgainstTheFirstRow() throws {
        let text = "a,b,c\nd,e\nf,g,h\n"
        let strict = try CSVReader(MemorySource(text), dialect: CSVDialect(hasHeader: false))
        _ = try strict.next()
        do {
            _ = try strict.next()
            Issue.record("a short row was read")
        } catch {
            #expect(error.code == .raggedRow)
            #expect(error.message.hasPrefix("expected 3 fields as in the first row, found 2"), "\(error)")
        }
        #expect(try strict.next()?.fields.count == 3)
        var options = ReaderOptions()
        options.raggedRows = .pad
        let padded = try CSVReader(MemorySource(text), dialect: CSVDialect(hasHeader: false), options: options)
        #expect(try records(padded).map { $0.fields["column_3"] } == ["c", "", "h"])
    }

    /// Found by the Python conformance suite: a file of one row (a header alone) that two
    /// delimiters both split was read with the first of them; it is as ambiguous as many rows.
    @Test func oneRowThatTwoDelimitersSplitIsAmbiguous() throws {
        #expect(throws: FormatError.self) { try CSVSniffer.sniff(Array("name|\tsize[\n".utf8), hasHeader: true, complete: true) }
        #expect(try CSVSniffer.sniff(Array("name\tsize\n".utf8), hasHeader: true, complete: true).delimiter == 0x09)
    }

    /// Swift compares names canonically, so "é" and "e\u{301}" are one column: refused, and
    /// the message says why two different spellings are "the same".
    @Test func canonicallyEqualHeaderNamesAreExplained() throws {
        do {
            _ = try CSVReader(MemorySource("\u{E9},e\u{301}\n1,2\n"))
            Issue.record("twin names accepted")
        } catch {
            #expect(error.code == .duplicateColumn)
            #expect(error.message.contains("two Unicode spellings of the same text"), "\(error)")
        }
    }
}
