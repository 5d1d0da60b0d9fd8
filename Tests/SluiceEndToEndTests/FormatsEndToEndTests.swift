import Foundation
import SluiceFormats
import SluiceJSON
import SluiceSimulator
import SluiceTestSupport
import Testing

/// Every format through `sluice run`, as a user runs it: gzip both ways, dialects, bad records,
/// XML preserved, formats crossed.
@Suite("formats end to end")
struct FormatsEndToEndTests {
    static let env = E2E.env
    static var fast: SimulatorConfiguration { E2E.instant }

    /// Records of a file, whatever its format (gzip recognised by content).
    static func read(_ path: String, options: ReaderOptions = ReaderOptions()) throws -> [Record] {
        let opened = try InputFile.open(path: path)
        let format = try RecordFormat.infer(fromPath: path) ?? InputFile.sniffFormat(opened.source)
        let reader = try format.reader(opened.source, options: options)
        var out: [Record] = []
        while let r = try reader.next() { out.append(r) }
        return out
    }

    static func gzip(_ path: String) async throws {
        let r = try await Subprocess.run(["gzip", "-f", path])
        #expect(r.status == 0, "gzip: \(r.stderr)")
    }

    @Test func gzipInputGivesGzipOutputAndStdinIsSniffed() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let csv = try dir.write("rows.csv", "id,name\n" + (1...30).map { "\($0),Name \($0)\n" }.joined())
        try await Self.gzip(csv)
        let template = try dir.write("t.md", "Describe {{name}}")
        try await SimulatorServer.withRunning(Self.fast) { sim in
            let r = try await SluiceProcess.run(["run", csv + ".gz", "-t", template, "--endpoint", sim.baseURL], environment: Self.env)
            #expect(r.status == 0, "\(r.stderr)")
            let out = dir.path + "/rows.enriched.csv.gz"
            let bytes = try Data(contentsOf: URL(fileURLWithPath: out))
            #expect(bytes.prefix(2) == Data([0x1F, 0x8B]), "the default output of a .gz input is gzip")
            let rows = try Self.read(out)
            #expect(rows.count == 30)
            #expect(rows[29].fields["t"] == .string(AnswerGenerator.text(for: "Describe Name 30")))

            // gzip JSON Lines on standard input, no format named: gunzipped and sniffed.
            let jsonl = try dir.write("in.jsonl", (1...5).map { "{\"name\":\"N\($0)\",\"meta\":{\"n\":\($0)}}\n" }.joined())
            try await Self.gzip(jsonl)
            let piped = try await SluiceProcess(["run", "-", "-t", template, "--endpoint", sim.baseURL, "--journal", dir.path + "/stdin.journal"],
                                                environment: Self.env, stdinFile: jsonl + ".gz").wait()
            #expect(piped.status == 0, "\(piped.stderr)")
            let lines = piped.stdout.split(separator: "\n")
            #expect(lines.count == 5)
            #expect(lines.first?.hasPrefix("{\"name\":\"N1\",\"meta\":{\"n\":1},\"t\":") == true)

            // gzip on standard output, asked for with --gzip.
            let zipped = try await SluiceProcess(["run", "-", "-t", template, "--endpoint", sim.baseURL, "--journal", dir.path + "/stdin.journal", "--gzip"],
                                                 environment: Self.env, stdinFile: jsonl + ".gz").wait()
            #expect(zipped.status == 0, "\(zipped.stderr)")
            #expect(zipped.stdoutBytes.prefix(2) == Data([0x1F, 0x8B]))
            try zipped.stdoutBytes.write(to: URL(fileURLWithPath: dir.path + "/piped.jsonl.gz"))
            #expect(try Self.read(dir.path + "/piped.jsonl.gz").count == 5)
        }
    }

    @Test func badRecordsFailByDefaultAndSkipToADeadLetterFile() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        // Record 2 is ragged, record 4 holds invalid UTF-8; the others are good.
        var bytes = Array("id,name\n1,Ann\n2,Bob,extra\n3,Cy\n4,".utf8) + [0xFF, 0xFE] + Array("\n5,Dee\n".utf8)
        let input = dir.path + "/people.csv"
        try Data(bytes).write(to: URL(fileURLWithPath: input))
        bytes = []
        let template = try dir.write("t.md", "Greet {{name}}")
        try await SimulatorServer.withRunning(Self.fast) { sim in
            let strict = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", sim.baseURL], environment: Self.env)
            #expect(strict.status == 65)
            #expect(strict.stderr.contains("people.csv: record 2 (line 3, byte 14): expected 2 fields as in the header, found 3"), "\(strict.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.path + "/people.enriched.csv"))

            let r = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", sim.baseURL, "--on-bad-record", "skip", "--restart"], environment: Self.env)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stderr.contains("2 bad record(s) skipped, listed in \(dir.path)/people.enriched.csv.bad-records.jsonl"), "\(r.stderr)")
            let rows = try Self.read(dir.path + "/people.enriched.csv")
            #expect(rows.map { $0.fields["id"] } == ["1", "3", "5"])
            #expect(rows.map { $0.fields["t"] } == ["Ann", "Cy", "Dee"].map { .string(AnswerGenerator.text(for: "Greet \($0)")) })
            let dead = try Self.read(dir.path + "/people.enriched.csv.bad-records.jsonl")
            #expect(dead.map { $0.fields["record"] } == [.number("2"), .number("4")])
            #expect(dead.map { $0.fields["line"] } == [.number("3"), .number("5")])
            #expect(dead.map { $0.fields["byte_offset"] } == [.number("14"), .number("31")])
            #expect(dead.map { $0.fields["error"] } == ["ragged-row", "invalid-utf8"])
            #expect(dead[0].fields["text"] == "2,Bob,extra")
            // Only good records were ever sent (record 1 also by the strict run, before it stopped).
            #expect(sim.simulator.stats().prompts.count == 3)
        }
    }

    @Test func sniffedSemicolonDialectIsKeptAndPoliciesApply() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let input = try dir.write("eu.csv", "id;name;price\n1;Acme;3,50\n2;\"Globex; Inc\";4,00\n3;Short\n")
        let template = try dir.write("t.md", "Price of {{name}}: {{price}}")
        try await SimulatorServer.withRunning(Self.fast) { sim in
            let r = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", sim.baseURL, "--ragged-rows", "pad"], environment: Self.env)
            #expect(r.status == 0, "\(r.stderr)")
            let text = dir.read("eu.enriched.csv")
            #expect(text.hasPrefix("id;name;price;t;sluice_error\n1;Acme;3,50;"), "\(text)")
            #expect(text.contains("\n2;\"Globex; Inc\";4,00;"))
            #expect(text.contains("\n3;Short;;"))
        }
    }

    @Test func xmlInXmlOutKeepsTheDocumentAndCrossesToOtherFormats() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let input = try dir.write("catalog.xml", """
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- nightly export -->
            <catalog xmlns:x="urn:x" generated="2026-11-25">
              <header><count>2</count></header>
              <product sku="A1">
                <name>Anvil &amp; Co</name>
                <x:weight unit="kg">50</x:weight>
              </product>
              <product sku="B2">
                <name><![CDATA[Rocket <skates>]]></name>
                <x:weight unit="kg">3</x:weight>
              </product>
            </catalog>

            """)
        let template = try dir.write("blurb.md", "Blurb for {{name}} ({{sku}}, {{x_weight._text}} {{x_weight.unit}})")
        try await SimulatorServer.withRunning(Self.fast) { sim in
            let r = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", sim.baseURL], environment: Self.env)
            #expect(r.status == 0, "\(r.stderr)")
            let text = dir.read("catalog.enriched.xml")
            let first = AnswerGenerator.text(for: "Blurb for Anvil & Co (A1, 50 kg)")
            var escaped: [UInt8] = []
            for b in first.utf8 {
                switch b {
                case UInt8(ascii: "&"): escaped += Array("&amp;".utf8)
                case UInt8(ascii: "<"): escaped += Array("&lt;".utf8)
                case UInt8(ascii: ">"): escaped += Array("&gt;".utf8)
                default: escaped.append(b)
                }
            }
            #expect(text.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- nightly export -->\n<catalog xmlns:x=\"urn:x\" generated=\"2026-11-25\">\n  <header><count>2</count></header>\n"), "\(text)")
            #expect(text.contains("    <x:weight unit=\"kg\">50</x:weight>\n    <blurb>\(String(decoding: escaped, as: UTF8.self))</blurb>\n  </product>"), "\(text)")
            #expect(text.contains("<name><![CDATA[Rocket <skates>]]></name>"))
            let back = try Self.read(dir.path + "/catalog.enriched.xml")
            #expect(back.count == 2)
            #expect(back[1].fields["blurb"] == .string(AnswerGenerator.text(for: "Blurb for Rocket <skates> (B2, 3 kg)")))

            // XML in, CSV out: nested fields JSON-encoded in their cells; answers from the journal.
            let csv = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", sim.baseURL, "-o", dir.path + "/flat.csv"], environment: Self.env)
            #expect(csv.status == 0, "\(csv.stderr)")
            let flat = try Self.read(dir.path + "/flat.csv")
            #expect(flat.first.map { Array($0.fields.keys) } == ["sku", "name", "x:weight", "blurb", "sluice_error"])
            #expect(flat.first?.fields["x:weight"] == "{\"unit\":\"kg\",\"_text\":\"50\"}")

            // CSV in, JSON Lines out, and CSV in, XML out.
            let people = try dir.write("p.csv", "first name,city\nAda,London\n")
            let hello = try dir.write("hello.md", "Hello {{first_name}} of {{city}}")
            let toJSONL = try await SluiceProcess.run(["run", people, "-t", hello, "--endpoint", sim.baseURL, "-o", dir.path + "/p.jsonl"], environment: Self.env)
            #expect(toJSONL.status == 0, "\(toJSONL.stderr)")
            #expect(dir.read("p.jsonl") == "{\"first name\":\"Ada\",\"city\":\"London\",\"hello\":\(JSONWriter.string(.string(AnswerGenerator.text(for: "Hello Ada of London"))))}\n")
            let toXML = try await SluiceProcess.run(["run", people, "-t", hello, "--endpoint", sim.baseURL, "-o", dir.path + "/p.xml"], environment: Self.env)
            #expect(toXML.status == 0, "\(toXML.stderr)")
            #expect(dir.read("p.xml").contains("  <record>\n    <first_name>Ada</first_name>\n    <city>London</city>\n    <hello>"))
        }
    }

    @Test func jsonlToCSVGetsAColumnForEveryField() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let input = try dir.write("mixed.jsonl", "{\"a\":\"1\"}\n{\"a\":\"2\",\"b\":{\"c\":[1,2]}}\n")
        let template = try dir.write("t.md", "Row {{a}}")
        try await SimulatorServer.withRunning(Self.fast) { sim in
            let r = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", sim.baseURL, "-o", dir.path + "/out.csv"], environment: Self.env)
            #expect(r.status == 0, "\(r.stderr)")
            let text = dir.read("out.csv")
            #expect(text.hasPrefix("a,b,t,sluice_error\n1,,"), "\(text)")
            #expect(text.contains("\n2,\"{\"\"c\"\":[1,2]}\","))
        }
    }

    @Test func dryRunWritesAPromptPreview() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let input = try dir.write("in.csv", "name\nAcme\nGlobex\n")
        let template = try dir.write("t.md", "Describe {{name}}")
        let r = try await SluiceProcess.run(["run", input, "-t", template, "--dry-run", "-o", dir.path + "/preview.jsonl.gz"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try Self.read(dir.path + "/preview.jsonl.gz")
        #expect(rows.map { $0.fields["sluice_prompt"] } == ["Describe Acme", "Describe Globex"])
        // Without -o a dry run writes nothing: no file where the real output will go.
        let plain = try await SluiceProcess.run(["run", input, "-t", template, "--dry-run"])
        #expect(plain.status == 0)
        #expect(plain.stderr.contains("dry run of \(input): 2 records"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["in.csv", "preview.jsonl.gz", "t.md"])
    }
}
