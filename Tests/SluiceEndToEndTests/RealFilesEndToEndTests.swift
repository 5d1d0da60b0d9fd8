import Foundation
import SluiceFormats
import SluiceJSON
import SluiceSimulator
import Testing

/// Issue 10 through `sluice run`, as a user met each defect: the built binary against the
/// in-process simulator, output compared cell for cell.
@Suite("real files end to end")
struct RealFilesEndToEndTests {
    static let env = E2E.env

    /// 10.1 and 10.2: a file whose every row quotes commas, with a blank first header cell (R's
    /// write.csv): every cell comes back unchanged, the header byte for byte.
    @Test func quotedCommasAndBlankHeaderSurviveARun() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        var text = #","pos","shape","w""# + "\n"
        for i in 1...40 { text += #""\#(i)","3,\#(i)","{""x"":3,""y"":\#(i)}",w\#(i)"# + "\n" }
        let input = try dir.write("quoted.csv", text)
        let template = try dir.write("t.md", "Shape {{shape}} at {{pos}} row {{column_1}}")
        try await SimulatorServer.withRunning(E2E.instant) { sim in
            let r = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", sim.baseURL], environment: Self.env)
            #expect(r.status == 0, "\(r.stderr)")
            let output = try String(contentsOfFile: dir.path + "/quoted.enriched.csv", encoding: .utf8)
            #expect(output.hasPrefix(#","pos","shape","w",t,sluice_error"# + "\n"), "\(output.prefix(200))")
            let rows = try FormatsEndToEndTests.read(dir.path + "/quoted.enriched.csv")
            #expect(rows.count == 40)
            for (i, row) in rows.enumerated() {
                #expect(row.fields.count == 6)
                #expect(row.fields["pos"] == .string("3,\(i + 1)"))
                #expect(row.fields["shape"] == .string(#"{"x":3,"y":\#(i + 1)}"#))
                #expect(row.fields["t"] == .string(AnswerGenerator.text(for: #"Shape {"x":3,"y":\#(i + 1)} at 3,\#(i + 1) row \#(i + 1)"#)))
                #expect(row.fields["sluice_error"] == "")
            }
        }
    }

    /// 10.4: nested values reach the prompt as compact JSON (seen in the dry-run preview).
    @Test func nestedValuesInPromptsAreJSON() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let input = try dir.write("n.jsonl", #"{"middle":{"list":[{"a":1},{"b":[true,null]}],"names":["0","1"]}}"# + "\n")
        let template = try dir.write("t.md", "L={{middle.list}} N={{middle.names}}")
        let r = try await SluiceProcess.run(["run", input, "-t", template, "--dry-run", "-o", dir.path + "/p.jsonl"])
        #expect(r.status == 0, "\(r.stderr)")
        let preview = try String(contentsOfFile: dir.path + "/p.jsonl", encoding: .utf8)
        let prompt = try JSONParser.parse(Array(preview.utf8.prefix { $0 != 0x0A }))["sluice_prompt"]
        #expect(prompt == .string(#"L=[{"a":1},{"b":[true,null]}] N=["0","1"]"#))
    }

    /// 10.5: a --record-element that matches nothing stops with 65 before any request, naming
    /// what the document has; an RSS channel read as one record is warned about.
    @Test func recordElementProblemsAreNamed() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let rss = try dir.write("feed.xml", "<rss><channel><title>T</title><item><title>1</title></item><item><title>2</title></item></channel></rss>\n")
        let template = try dir.write("t.md", "Summarise {{title}}")
        try await SimulatorServer.withRunning(E2E.instant) { sim in
            let missing = try await SluiceProcess.run(["run", rss, "-t", template, "--record-element", "entry", "--endpoint", sim.baseURL], environment: Self.env)
            #expect(missing.status == 65, "\(missing.stderr)")
            #expect(missing.stderr.contains("--record-element entry matches no element"))
            #expect(missing.stderr.contains("<item> (2)"))
            #expect(sim.simulator.stats().totals.requests == 0)

            let single = try await SluiceProcess.run(["run", rss, "-t", template, "--endpoint", sim.baseURL], environment: Self.env)
            #expect(single.status == 0, "\(single.stderr)")
            #expect(single.stderr.contains("warning: "))
            #expect(single.stderr.contains("<item> (2 inside <channel>)"))

            let items = try await SluiceProcess.run(["run", rss, "-t", template, "--record-element", "item", "-o", dir.path + "/items.jsonl", "--endpoint", sim.baseURL], environment: Self.env)
            #expect(items.status == 0, "\(items.stderr)")
            #expect(!items.stderr.contains("warning: "))
            #expect(try FormatsEndToEndTests.read(dir.path + "/items.jsonl").map { $0.fields["title"] } == ["1", "2"])
        }
    }
}
