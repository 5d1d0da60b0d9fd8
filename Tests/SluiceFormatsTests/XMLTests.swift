import Foundation
import SluiceFormats
import SluiceJSON
import Testing

@Suite("XML")
struct XMLTests {
    static let catalog = """
        <?xml version="1.0" encoding="UTF-8"?>
        <!-- exported 2026-11-01 -->
        <catalog xmlns="urn:example:catalog" xmlns:dc="http://purl.org/dc/elements/1.1/" version="2">
          <meta><source>erp</source></meta>
          <company id="1" status="active">
            <name>Acme &amp; Sons</name>
            <dc:description><![CDATA[Makes <anvils> & rockets]]></dc:description>
            <address city="Berlin"><street>Unter den Linden 1</street></address>
            <tag>tools</tag>
            <tag>metal</tag>
            <price currency="EUR">12.50</price>
          </company>
          <?audit checked?>
          <company id="2" status="inactive">
            <name>Glob&#233;x</name>
            <id>G-2</id>
          </company>
          <company id="3"/>
        </catalog>
        """

    @Test func recordsFieldsAndMapping() throws {
        let reader = try XMLRecordReader(MemorySource(Self.catalog, name: "catalog.xml"))
        let rows = try records(reader)
        #expect(reader.recordElement == "company")
        #expect(rows.map(\.number) == [1, 2, 3])
        #expect(rows.map(\.line) == [5, 14, 18])
        let first = rows[0]
        #expect(first.fields["id"] == "1")
        #expect(first.fields["name"] == "Acme & Sons")
        #expect(first.fields["dc:description"] == "Makes <anvils> & rockets")
        #expect(first.value(at: "address.city") == "Berlin")
        #expect(first.value(at: "address.street") == "Unter den Linden 1")
        #expect(first.fields["tag"] == .array(["tools", "metal"]))
        #expect(first.fields["price"] == .object(["currency": "EUR", "_text": "12.50"]))
        // The attribute and the child element share a name: the element keeps it.
        #expect(rows[1].fields["name"] == "Globéx")
        #expect(rows[1].fields["id"] == "G-2")
        #expect(rows[1].fields["@id"] == "2")
        #expect(rows[2].fields == ["id": "3"])
        // Offsets are those of the records' lines.
        let offset = Int64(Self.catalog.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).prefix(4).reduce(0) { $0 + $1.count + 1 })
        #expect(first.byteOffset == offset)
    }

    @Test func explicitRecordElementAtAnyDepthAndDeclaredEncoding() throws {
        var options = ReaderOptions()
        options.recordElement = "item"
        let latin1: [UInt8] = Array("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<feed><channel><item><title>Caf".utf8) + [0xE9] + Array("</title></item><item><title>Two</title></item></channel></feed>".utf8)
        let rows = try records(try XMLRecordReader(MemorySource(bytes: latin1, name: "feed.xml"), options: options))
        #expect(rows.map { $0.fields["title"] } == ["Café", "Two"])
    }

    @Test func malformedDocumentNamesLineAndOffset() throws {
        // libxml2 parses ahead of the records it hands out: the error may come with any record.
        let reader = try XMLRecordReader(MemorySource("<r>\n<a><b>1</b></a>\n<a><b>2</c></a>\n</r>\n", name: "bad.xml"))
        do {
            _ = try records(reader)
            Issue.record("malformed XML accepted")
        } catch let error as FormatError {
            #expect(error.code == .invalidXML)
            #expect(error.line == 3)
            #expect(error.byteOffset != nil)
            #expect(error.description.hasPrefix("bad.xml: line 3, byte"), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func entityBombsAndExternalEntitiesAreRefused() throws {
        let laughs = """
            <?xml version="1.0"?>
            <!DOCTYPE lolz [
              <!ENTITY lol "lol">
              <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
              <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
              <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
              <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
              <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
              <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
              <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
              <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
            ]>
            <lolz><r><v>&lol9;</v></r></lolz>
            """
        // Default: entity declarations are refused outright.
        do {
            _ = try records(try XMLRecordReader(MemorySource(laughs, name: "lol.xml", chunk: 1 << 16)))
            Issue.record("billion laughs accepted")
        } catch let error as FormatError {
            #expect(error.description.contains("declares entities"), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
        // Allowed: libxml2's expansion limits stop the bomb with an error, quickly.
        var options = ReaderOptions()
        options.allowEntities = true
        #expect(throws: FormatError.self) { try records(try XMLRecordReader(MemorySource(laughs, name: "lol.xml", chunk: 1 << 16), options: options)) }

        // An external entity is never read, even with entities allowed.
        let secret = NSTemporaryDirectory() + "sluice-secret-\(UUID().uuidString)"
        try Data("TOP SECRET".utf8).write(to: URL(fileURLWithPath: secret))
        defer { try? FileManager.default.removeItem(atPath: secret) }
        let xxe = "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM \"file://\(secret)\">]>\n<r><i><v>&x;</v></i></r>\n"
        let leaked = (try? records(try XMLRecordReader(MemorySource(xxe), options: options))) ?? []
        #expect(!leaked.contains { JSONWriter.string(.object($0.fields)).contains("SECRET") })

        // Internal entities expand when allowed.
        let internalEntity = "<!DOCTYPE r [<!ENTITY co \"Acme Corp\">]>\n<r><i><v>&co;</v></i></r>"
        #expect(try records(try XMLRecordReader(MemorySource(internalEntity), options: options)).first?.fields["v"] == "Acme Corp")
    }

    @Test func recordSizeCapIsARecordLevelError() throws {
        var options = ReaderOptions()
        options.limits.maxRecordBytes = 50
        let reader = try XMLRecordReader(MemorySource("<r><i><v>\(String(repeating: "x", count: 200))</v></i><i><v>ok</v></i></r>"), options: options)
        do {
            _ = try reader.next()
            Issue.record("oversized record accepted")
        } catch {
            #expect(error.code == .recordTooLarge)
            #expect(error.isRecordLevel)
        }
        #expect(try reader.next()?.fields["v"] == "ok")
    }

    @Test func preservingWriterAppendsChildrenAndKeepsTheRest() throws {
        let dir = TempDir()
        let out = dir.file("out.xml")
        let reader = try XMLRecordReader(MemorySource(Self.catalog, name: "catalog.xml"), captureDocument: true)
        let file = try AtomicFile(path: out)
        let writer = try XMLDocumentWriter(sink: file.sink, reader: reader, newFields: ["summary", "score"])
        while let record = try reader.next() {
            var fields = record.fields
            fields["summary"] = .string("about <\(record.number)>")
            fields["score"] = .object(["value": .number("0.5"), "labels": .array(["a", "b"])])
            try writer.write(fields)
        }
        try writer.finish()
        try file.commit()
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- exported 2026-11-01 -->\n<catalog xmlns=\"urn:example:catalog\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" version=\"2\">\n  <meta><source>erp</source></meta>\n"))
        #expect(text.contains("""
                <price currency="EUR">12.50</price>
                <summary>about &lt;1&gt;</summary>
                <score>
                  <value>0.5</value>
                  <labels>a</labels>
                  <labels>b</labels>
                </score>
              </company>
              <?audit checked?>
            """))
        #expect(text.contains("<dc:description><![CDATA[Makes <anvils> & rockets]]></dc:description>"))
        #expect(text.contains("<company id=\"3\"><summary>about &lt;3&gt;</summary>"))
        #expect(text.hasSuffix("</company>\n</catalog>\n"))
        // The output reads back with the same records plus the new fields.
        let back = try records(try XMLRecordReader(try FileByteSource(path: out)))
        #expect(back.count == 3)
        #expect(back[0].fields["name"] == "Acme & Sons")
        #expect(back[0].fields["summary"] == "about <1>")
        #expect(back[0].value(at: "score.labels.1") == "b")
        #expect(back[2].fields["id"] == "3")
    }

    @Test func recordWriterTurnsOtherFormatsIntoXML() throws {
        let dir = TempDir()
        let out = dir.file("out.xml")
        let file = try AtomicFile(path: out)
        let writer = try XMLRecordWriter(sink: file.sink)
        try writer.write(["id": "1", "first name": "Ada & co", "2nd": .null, "tags": .array(["x", "y"])])
        try writer.finish()
        try file.commit()
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text == """
            <?xml version="1.0" encoding="UTF-8"?>
            <records>
              <record>
                <id>1</id>
                <first_name>Ada &amp; co</first_name>
                <_2nd/>
                <tags>x</tags>
                <tags>y</tags>
              </record>
            </records>

            """)
    }
}
