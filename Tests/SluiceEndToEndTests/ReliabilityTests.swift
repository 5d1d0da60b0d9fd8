import Foundation
import SluiceEngine
import SluiceFormats
import SluiceJSON
import SluiceSimulator
import SluiceTestSupport
import Testing

/// Every file under `path`, recursively.
func filesUnder(_ path: String) -> [String] {
    guard let walker = FileManager.default.enumerator(atPath: path) else { return [] }
    return walker.compactMap { ($0 as? String).map { path + "/" + $0 } }.filter {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: $0, isDirectory: &isDirectory) && !isDirectory.boolValue
    }
}

@Suite("reliability: secrets, faults, formula guard")
struct ReliabilityTests {
    @Test func theAPIKeyAppearsNowhereARunLeavesAnything() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let key = "AIzaSy-sluice-secret-\(UUID().uuidString)"
        let input = try dir.write("in.csv", "text,n\nfine,1\nbusy sim-fault:503*2,2\nlimited sim-fault:429*1,3\nblocked sim-fault:safety,4\nragged,5,6\nslow sim-fault:slow,7\n")
        let template = try dir.write("t.md", "{{text}}")
        var config = SimulatorConfiguration()
        config.timeScale = 0
        config.apiKeys = [key]
        config.faultRetryDelay = 0.05
        // One slow answer keeps the run alive long enough to read its process title.
        config.slowFirstByteSeconds = 3
        try await SimulatorServer.withRunning(config) { sim in
            let args = ["run", input, "-t", template, "--endpoint", sim.baseURL, "-v", "--report", dir.path + "/report.json",
                        "--on-bad-record", "skip", "--retry-base-delay", "0.01"]
            let process = try SluiceProcess(args, environment: ["GEMINI_API_KEY": key])
            // The process title (argv) never carries the key: it comes from the environment.
            var cmdline = Data()
            let deadline = ContinuousClock.now + .seconds(10)
            while !String(decoding: cmdline, as: UTF8.self).contains("sluice"), ContinuousClock.now < deadline {
                cmdline = FileHandle(forReadingAtPath: "/proc/\(process.pid)/cmdline")?.readDataToEndOfFile() ?? Data()
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(!cmdline.isEmpty)
            #expect(!String(decoding: cmdline, as: UTF8.self).contains(key))
            let run = await process.wait()
            #expect(run.status == 2, "\(run.stderr)")
            // A wrong key: the refusal is reported without echoing either key.
            let wrong = "AIzaSy-wrong-\(UUID().uuidString)"
            let refused = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", sim.baseURL, "-v", "-o", dir.path + "/refused.csv", "--on-bad-record", "skip"],
                                                      environment: ["GEMINI_API_KEY": wrong])
            #expect(refused.status == 1, "\(refused.stderr)")
            for text in [run.stdout, run.stderr, refused.stdout, refused.stderr] {
                #expect(!text.contains(key))
                #expect(!text.contains(wrong))
            }
            let files = filesUnder(dir.path)
            #expect(files.contains { $0.hasSuffix(".sluice-journal") })
            #expect(files.contains { $0.hasSuffix("report.json") })
            #expect(files.contains { $0.hasSuffix(".bad-records.jsonl") })
            for file in files {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
                #expect(bytes.range(of: Data(key.utf8)) == nil, "the key is in \(file)")
                #expect(bytes.range(of: Data(wrong.utf8)) == nil, "the wrong key is in \(file)")
            }
        }
    }

    /// 30% shed, 5% 429 with retry delays, 1% dropped connections, 1% truncated bodies, 1% 500s:
    /// every record completes, and the run's own counts match what the simulator saw.
    /// A longer soak: `SLUICE_SOAK_RECORDS=50000 swift test --filter faultSoak`.
    @Test func faultSoakCompletesEveryRecordAndTheCountsMatchTheSimulator() async throws {
        let records = ProcessInfo.processInfo.environment["SLUICE_SOAK_RECORDS"].flatMap(Int.init) ?? 1500
        let dir = try Scratch()
        defer { dir.remove() }
        let input = try dir.write("in.csv", "id\n" + (1...records).map { "\($0)\n" }.joined())
        let template = try dir.write("t.md", "Soak record {{id}}")
        var config = SimulatorConfiguration()
        config.seed = 20261125
        config.timeScale = 1
        config.flex = .init(capacity: 2000, queueLimit: 2000, latency: .init(minimum: 0.001, median: 0.01, maximum: 0.05))
        config.faults = [FaultRule(kind: .http503, probability: 0.30), FaultRule(kind: .http429, probability: 0.05),
                         FaultRule(kind: .drop, probability: 0.01), FaultRule(kind: .truncate, probability: 0.01),
                         FaultRule(kind: .http500, probability: 0.01)]
        config.faultRetryDelay = 0.02
        config.captureBodies = false
        try await SimulatorServer.withRunning(config) { sim in
            // generateContent: its 429s carry RetryInfo delays in fractions of a second.
            let r = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", sim.baseURL, "--concurrency", "32", "--api", "generate-content",
                                                 "--retry-base-delay", "0.005", "--retry-max-delay", "0.1", "--max-attempts", "40",
                                                 "--report", dir.path + "/report.json"], environment: ["GEMINI_API_KEY": "sim-test-key"])
            #expect(r.status == 0, "\(r.stderr.suffix(2000))")
            let rows = try CSVReader(try FileByteSource(path: dir.path + "/in.enriched.csv"))
            var n = 0
            while let row = try rows.next() {
                n += 1
                #expect(row.fields["t"] == .string(AnswerGenerator.text(for: "Soak record \(n)")), "record \(n)")
            }
            #expect(n == records)
            let report = try JSONParser.parse(Data(contentsOf: URL(fileURLWithPath: dir.path + "/report.json")))
            let stats = sim.simulator.stats()
            #expect(stats.faultsByKind["503"] ?? 0 > records / 10, "the soak injected faults: \(stats.faultsByKind)")
            #expect(report["requests"]?.intValue == stats.totals.requests)
            #expect(report["shed"]?.intValue == stats.totals.shed + (stats.faultsByKind["503"] ?? 0))
            #expect(report["rate_limited"]?.intValue == stats.totals.rateLimited + (stats.faultsByKind["429"] ?? 0))
            #expect(report["retries"]?.intValue == stats.totals.requests - records)
            #expect(report["records"]?["done"]?.intValue == records)
            #expect(stats.totals.answers >= records)
        }
    }

    @Test func formulaGuardProtectsSpreadsheetsOnlyWhenAsked() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let input = try dir.write("in.csv", "name\n=cmd|' /C calc'!A0\n@SUM(1)\nplain\n")
        let template = try dir.write("t.md", "{{name}}")
        var config = SimulatorConfiguration()
        config.timeScale = 0
        try await SimulatorServer.withRunning(config) { sim in
            let guarded = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", sim.baseURL, "--csv-formula-guard", "-o", dir.path + "/g.csv"],
                                                      environment: ["GEMINI_API_KEY": "sim-test-key"])
            #expect(guarded.status == 0, "\(guarded.stderr)")
            let lines = dir.read("g.csv").split(separator: "\n")
            #expect(lines[1].hasPrefix("'=cmd|' /C calc'!A0,"))
            #expect(lines[2].hasPrefix("'@SUM(1),"))
            #expect(lines[3].hasPrefix("plain,"))
            let raw = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", sim.baseURL, "-o", dir.path + "/r.csv"],
                                                  environment: ["GEMINI_API_KEY": "sim-test-key"])
            #expect(raw.status == 0)
            #expect(dir.read("r.csv").split(separator: "\n")[1].hasPrefix("=cmd|' /C calc'!A0,"))
        }
    }
}
