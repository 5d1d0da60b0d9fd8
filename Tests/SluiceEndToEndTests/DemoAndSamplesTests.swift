import Foundation
import SluiceEngine
import SluiceFormats
import SluiceJSON
import SluiceSimulator
import Testing

@Suite("demo, samples, templates and status")
struct DemoAndSamplesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test func demoRunsEndToEndAndSaysTheAnswersAreSimulated() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let r = try await SluiceProcess.run(["demo", "--keep", dir.path, "--time-scale", "0.002"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("SIMULATED"))
        #expect(r.stdout.contains("simulated answers"))
        #expect(r.stdout.contains("id,name,website,description,category,summary,b2b,sluice_error"))
        #expect(r.stderr.contains("records: 20 enriched, 0 failed"))
        // The embedded copies are the files in Samples/ and Templates/.
        let sample = try String(contentsOfFile: Self.root + "/Samples/companies.csv", encoding: .utf8)
        let template = try String(contentsOfFile: Self.root + "/Templates/company-profile.md", encoding: .utf8)
        #expect(dir.read("companies.csv") == sample)
        #expect(dir.read("company-profile.md") == template)
    }

    @Test(arguments: [
        ("Samples/comments.jsonl", "Templates/moderation.md", ["label", "reason", "needs_human_review"]),
        ("Samples/nightly-feed.jsonl", "Templates/nightly-summary.md", ["digest_line"]),
        ("Samples/companies.csv", "Templates/company-profile.md", ["category", "summary", "b2b"]),
    ])
    func everySampleRunsWithItsTemplate(sample: String, template: String, columns: [String]) async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        var config = SimulatorConfiguration()
        config.timeScale = 0
        try await SimulatorServer.withRunning(config) { sim in
            let ext = sample.hasSuffix(".csv") ? "csv" : "jsonl"
            let out = dir.path + "/out.\(ext)"
            let r = try await SluiceProcess.run(["run", Self.root + "/" + sample, "-t", Self.root + "/" + template, "-o", out, "--endpoint", sim.baseURL],
                                                environment: ["GEMINI_API_KEY": "sim-test-key"])
            #expect(r.status == 0, "\(r.stderr)")
            let reader = try RecordFormat.infer(fromPath: out)!.reader(try InputFile.open(path: out).source)
            let first = try #require(try reader.next())
            for column in columns { #expect(first.fields[column] != nil, "\(column) missing in \(first.fields.keys)") }
            let status = try await SluiceProcess.run(["status", "--journal", out + ".sluice-journal"])
            #expect(status.status == 0)
            #expect(status.stdout.contains("records: \(sim.simulator.stats().totals.answers) done, 0 failed"))
        }
    }

    @Test func usageErrorsHaveTheirExitCodes() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let input = try dir.write("in.csv", "name,city\nAda,Oslo\n")
        let template = try dir.write("t.md", "Hello {{nmae}} from {{city}}")
        let missingVar = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", "http://127.0.0.1:9"], environment: ["GEMINI_API_KEY": "k"])
        #expect(missingVar.status == 64)
        #expect(missingVar.stderr.contains("{{nmae}}"))
        #expect(missingVar.stderr.contains("Fields in the input: name, city"))
        let noKey = try await SluiceProcess.run(["run", input, "-t", template])
        #expect(noKey.status == 64)
        #expect(noKey.stderr.contains("GEMINI_API_KEY"))
        let bad = try dir.write("bad.csv", "name\n\"never closed\n")
        let good = try dir.write("g.md", "{{name}}")
        let badInput = try await SluiceProcess.run(["run", bad, "-t", good, "--endpoint", "http://127.0.0.1:9"], environment: ["GEMINI_API_KEY": "k"])
        #expect(badInput.status == 65)
        #expect(badInput.stderr.contains("bad.csv: record 1 (line 2, byte 5): quoted field 1 is never closed"))
        // `batch` bills Batch API answers; it is not a tier to send online.
        for flag in ["--tier", "--fallback"] {
            let batchTier = try await SluiceProcess.run(["run", input, "-t", good, flag, "batch", "--endpoint", "http://127.0.0.1:9"], environment: ["GEMINI_API_KEY": "k"])
            #expect(batchTier.status == 64, "\(flag): \(batchTier.stderr)")
            #expect(batchTier.stderr.contains("'flex', 'standard' or 'priority'"), "\(flag): \(batchTier.stderr)")
        }
    }
}
