import Foundation
import Logging
@testable import SluiceEngine
import SluiceFormats
import SluiceJSON
import SluiceJournal
import SluiceModel
import Testing

/// The output loop shared by the merge and the dry-run preview, and answer → columns, without
/// a model or a subprocess.
@Suite("Output pass")
struct OutputPassTests {
    func output(_ dir: String, _ reader: any RecordReader, format: RecordFormat = .csv, inputFormat: RecordFormat = .csv) throws -> OutputFile {
        try OutputFile(path: dir + "/out." + format.rawValue, gzip: nil, gzipLevel: 1, deadLetters: dir + "/bad.jsonl", format: format,
                       inputFormat: inputFormat, reader: reader, columns: (reader.columns ?? []) + ["n"], newFields: ["n"], options: WriterOptions())
    }

    func scratch() throws -> String {
        let dir = NSTemporaryDirectory() + "sluice-outputpass-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func writesEveryRecordInOrderAndBadOnesToTheDeadLetterFile() async throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = ReaderOptions()
        options.invalidUTF8 = .fail
        let reader = try CSVReader(MemoryByteSource(Array("a,b\n1,2\n3\n5,6\n7,8\n".utf8), name: "in.csv"), options: options)
        let input = RecordInput(reader: reader, policy: .skip)
        let out = try output(dir, reader)
        let counters = RunCounters()
        var pass = OutputPass(input: input, output: out, limit: 3, counters: counters, logger: Logger(label: "t"))
        pass.countsBadRecords = true
        var seen: [Int] = []
        let written = try await pass.run { record throws(EngineError) in
            seen.append(record.number)
            var fields = record.fields
            fields["n"] = .string("#\(record.number)")
            return fields
        }
        try out.commit()
        #expect(written == 2 && seen == [1, 3])
        #expect(counters.snapshot.badRecords == 1 && counters.snapshot.written == 2)
        #expect(try String(contentsOfFile: dir + "/out.csv", encoding: .utf8) == "a,b,n\n1,2,#1\n5,6,#3\n")
        let bad = try String(contentsOfFile: dir + "/bad.jsonl", encoding: .utf8)
        #expect(bad.contains(#""record":2"#) && bad.contains(#""error":"ragged-row""#), "\(bad)")
    }

    /// Past the limit the preserving XML writer still reads on: the records it is not given
    /// are left out, the rest of the document (here `<tail/>`) is kept.
    @Test func theLimitKeepsTheRestOfAnXMLDocument() async throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let xml = "<r><i><t>1</t></i><i><t>2</t></i><tail/></r>\n"
        let reader = try XMLRecordReader(MemoryByteSource(Array(xml.utf8), name: "in.xml"), captureDocument: true)
        let out = try output(dir, reader, format: .xml, inputFormat: .xml)
        let pass = OutputPass(input: RecordInput(reader: reader, policy: .fail), output: out, limit: 1, counters: RunCounters(), logger: Logger(label: "t"))
        let written = try await pass.run { record throws(EngineError) in
            var fields = record.fields
            fields["n"] = "x"
            return fields
        }
        try out.commit()
        #expect(written == 1)
        let text = try String(contentsOfFile: dir + "/out.xml", encoding: .utf8)
        #expect(text.hasSuffix("<r><i><t>1</t><n>x</n></i><tail/></r>\n"), "\(text)")
    }

    @Test func answerColumnsFromOutcomes() throws {
        let template = try PromptTemplate(text: "{{a}}", name: "t")
        let schema = try JSONParser.parse(#"{"type":"object","properties":{"label":{"type":"string"},"tags":{"type":"array"}}}"#)
        var options = JobConfiguration(input: .init(path: "in.csv", format: .csv), output: .init(path: nil, format: .csv, column: "t"),
                                       prompt: .init(template: template, schema: schema, model: "m", tier: .flex), journal: .init(path: "j"), prices: NoPrices())
        let csv = AnswerColumns(options: options)
        var fields: JSONObject = ["a": "1"]
        csv.apply(Journal.Outcome(number: 1, state: .done, answer: #"{"label":"ok","tags":["x"]}"#, error: nil), to: &fields)
        #expect(fields == ["a": "1", "label": "ok", "tags": .array(["x"]), "sluice_error": ""])
        var failed: JSONObject = ["a": "2"]
        csv.apply(Journal.Outcome(number: 2, state: .failed, answer: nil, error: "HTTP 400: bad"), to: &failed)
        #expect(failed == ["a": "2", "label": "", "tags": "", "sluice_error": "HTTP 400: bad"])
        options.output.format = .jsonl
        options.prompt.schema = nil
        let jsonl = AnswerColumns(options: options)
        var plain: JSONObject = ["a": "3"]
        jsonl.apply(Journal.Outcome(number: 3, state: .done, answer: "text", error: nil), to: &plain)
        #expect(plain == ["a": "3", "t": "text"])
    }

    struct NoPrices: PriceBook {
        func cost(model: String, tier: ServiceTier, usage: TokenUsage) -> Double? { nil }
    }
}
