import Foundation
import SluiceEngine
import SluiceJournal
import SluiceJSON
import SluiceSimulator
import SluiceTestSupport
import Testing

/// `--pack`: several records per request, as a user runs it. The simulator answers each item
/// exactly as it answers the record alone, so a packed run's output must equal an unpacked
/// run's byte for byte — whatever the pack faults — with fewer requests.
@Suite("Packing end to end")
struct PackEndToEndTests {
    static let schema = #"{"type":"object","properties":{"label":{"type":"string","enum":["ok","spam"]},"confidence":{"type":"number"}},"required":["label","confidence"]}"#

    /// Instructions of a realistic length (about 200 tokens): what packing says once per request.
    static let instructions = String(repeating: "Classify the comment as ok or spam. Spam sells, links or repeats; ok is anything else, rude or not. ", count: 8) + "\n"

    struct Job {
        let dir: Scratch
        let input: String
        let template: String
        let schema: String

        /// `n` records, `distinct` different comments among them (twins test dedupe across packs).
        init(_ n: Int, distinct: Int? = nil) throws {
            dir = try Scratch()
            var text = "id,comment\n"
            for i in 1...n { text += "\(i),\"comment number \((i - 1) % (distinct ?? n) + 1), with words\"\n" }
            input = try dir.write("in.csv", text)
            // The shared part above the mark; the record's part below it.
            template = try dir.write("t.md", PackEndToEndTests.instructions + "{{! per record }}\n\(distinct == nil ? "Record {{id}}: " : ""){{comment}}\n")
            schema = try dir.write("s.json", PackEndToEndTests.schema)
        }

        func run(_ sim: RunningSimulator, output: String, _ extra: [String]) async throws -> (SluiceProcess.Result, JSONValue) {
            let report = dir.path + "/" + output + ".report.json"
            let r = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", sim.baseURL, "-o", dir.path + "/" + output,
                                                 "--retry-base-delay", "0.01", "--retry-max-delay", "0.05", "--report", report] + extra,
                                                environment: E2E.env)
            return (r, (try? JSONParser.parse(dir.read(output + ".report.json"))) ?? .null)
        }
    }

    @Test(arguments: [("interactions", false), ("interactions", true), ("generate-content", false), ("generate-content", true)])
    func packedOutputEqualsUnpackedOutput(api: String, structured: Bool) async throws {
        let job = try Job(40)
        defer { job.dir.remove() }
        let schema = structured ? ["--schema", job.schema] : []
        try await SimulatorServer.withRunning(E2E.instant) { sim in
            let (one, oneReport) = try await job.run(sim, output: "one.csv", ["--api", api] + schema)
            #expect(one.status == 0, "\(one.stderr)")
            let (packed, report) = try await job.run(sim, output: "packed.csv", ["--api", api, "--pack", "5"] + schema)
            #expect(packed.status == 0, "\(packed.stderr)")
            #expect(job.dir.read("packed.csv") == job.dir.read("one.csv"))
            #expect(job.dir.read("packed.csv").split(separator: "\n").count == 41)
            #expect(oneReport["requests"]?.intValue == 40)
            #expect(report["requests"]?.intValue == 8, "\(report)")
            #expect(report["packs"]?["requests"]?.intValue == 8 && report["packs"]?["records"]?.intValue == 40, "\(report)")
            #expect(packed.stderr.contains("packs: 8 requests carried 40 records (5.0 per request)"), "\(packed.stderr)")
            // The shared part is said once per request: fewer input tokens than record by record.
            #expect((report["tokens"]?["input"]?.intValue ?? .max) < (oneReport["tokens"]?["input"]?.intValue ?? 0))
            #expect((report["input_tokens_per_record"]?.doubleValue ?? .infinity) < (oneReport["input_tokens_per_record"]?.doubleValue ?? 0))
            #expect((report["cost_per_1000_records_usd"]?.doubleValue ?? .infinity) < (oneReport["cost_per_1000_records_usd"]?.doubleValue ?? 0))
            // The estimate of the same records one by one is near what the unpacked run billed.
            let estimate = Double(report["packs"]?["input_tokens_one_by_one_estimate"]?.intValue ?? 0)
            let billed = Double(oneReport["tokens"]?["input"]?.intValue ?? 1)
            #expect(abs(estimate - billed) / billed < 0.1, "estimate \(estimate), billed one by one \(billed)")
        }
    }

    /// Items left out, answered twice, reordered or spoiled, on every other pack: every record
    /// still ends with exactly the answer it gets alone, the spoiled ones sent again.
    @Test(arguments: [("interactions", false), ("interactions", true), ("generate-content", false), ("generate-content", true)])
    func packFaultsEndWithEveryRecordAnsweredCorrectly(api: String, structured: Bool) async throws {
        let job = try Job(60)
        defer { job.dir.remove() }
        let schema = (structured ? ["--schema", job.schema] : []) + ["--api", api]
        try await SimulatorServer.withRunning(E2E.instant) { sim in
            let (one, _) = try await job.run(sim, output: "one.csv", schema)
            #expect(one.status == 0, "\(one.stderr)")
        }
        var faulty = E2E.instant
        faulty.seed = 11
        faulty.faults = ["pack_drop", "pack_duplicate", "pack_invalid", "pack_reorder"].map { FaultRule(kind: FaultKind(rawValue: $0)!, probability: 0.25) }
        try await SimulatorServer.withRunning(faulty) { sim in
            let (packed, report) = try await job.run(sim, output: "packed.csv", ["--pack", "6"] + schema)
            #expect(packed.status == 0, "\(packed.stderr)")
            #expect(job.dir.read("packed.csv") == job.dir.read("one.csv"))
            #expect(sim.simulator.stats().totals.faults > 0)
            #expect((report["packs"]?["resent_items"]?.intValue ?? 0) > 0, "\(report)")
            #expect((report["requests"]?.intValue ?? 99) < 60, "\(report)")
        }
    }

    /// A pack cut at MAX_TOKENS (or refused as a whole) splits in half, down to records alone.
    @Test(arguments: ["interactions", "generate-content"])
    func aPackCutAsAWholeSplitsInHalves(api: String) async throws {
        let job = try Job(8)
        defer { job.dir.remove() }
        try await SimulatorServer.withRunning(E2E.instant) { sim in
            let (one, _) = try await job.run(sim, output: "one.csv", ["--schema", job.schema, "--api", api])
            #expect(one.status == 0, "\(one.stderr)")
        }
        var faulty = E2E.instant
        // Every pack's first attempt is cut at a few tokens; the halves' first attempts too.
        faulty.faults = [FaultRule(kind: .maxTokens, firstAttempts: 1)]
        // With a schema: a record alone whose answer is cut is retried (plain text would be kept, cut).
        try await SimulatorServer.withRunning(faulty) { sim in
            let (packed, report) = try await job.run(sim, output: "packed.csv", ["--pack", "8", "--schema", job.schema, "--api", api])
            #expect(packed.status == 0, "\(packed.stderr)")
            #expect(job.dir.read("packed.csv") == job.dir.read("one.csv"))
            #expect((report["packs"]?["resent_items"]?.intValue ?? 0) >= 8, "\(report)")
        }
    }

    /// Killed mid-run, a packed job resumes: records journaled before the kill are in no later
    /// request (not even inside a pack), and the output equals an uninterrupted run's.
    @Test func sigkillDuringAPackedRunThenResumeGivesTheSameOutput() async throws {
        let job = try Job(200)
        defer { job.dir.remove() }
        var config = SimulatorConfiguration()
        config.flex = .init(capacity: 1000, queueLimit: 1000, latency: .init(minimum: 0.05, median: 0.3, maximum: 1.5))
        try await SimulatorServer.withRunning(config) { sim in
            let (reference, _) = try await job.run(sim, output: "reference.csv", ["--pack", "5", "--concurrency", "40"])
            #expect(reference.status == 0, "\(reference.stderr)")
            sim.simulator.reset()

            let args = ["run", job.input, "-t", job.template, "--endpoint", sim.baseURL, "-o", job.dir.path + "/resumed.csv", "--pack", "5", "--concurrency", "40"]
            let first = try SluiceProcess(args, environment: E2E.env)
            let deadline = ContinuousClock.now + .seconds(60)
            // Killed once answers are journaled (the simulator's count runs ahead of the client's
            // commits on a loaded machine: one run was killed with none journaled yet).
            let journalPath = job.dir.path + "/resumed.csv.sluice-journal"
            while ((try? JournalReader(path: journalPath).promptHashes(state: .done).count) ?? 0) < 8, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            first.kill()
            #expect(await first.wait().status != 0)
            let journaled = Set(try JournalReader(path: job.dir.path + "/resumed.csv.sluice-journal").promptHashes(state: .done))
            // The records those hashes stand for: a record's prompt is the shared part and its own part.
            let done = (1...200).filter { n in
                journaled.contains(StableHash.hex(PackEndToEndTests.instructions + "Record \(n): comment number \(n), with words\n"))
            }
            #expect(done.count == journaled.count && !done.isEmpty, "\(journaled.count) journaled, \(done.count) matched")
            sim.simulator.reset()

            let second = try await SluiceProcess.run(args, environment: E2E.env)
            #expect(second.status == 0, "\(second.stderr)")
            #expect(job.dir.read("resumed.csv") == job.dir.read("reference.csv"))
            let sent = sim.simulator.events().compactMap { $0.body?["input"]?.stringValue }
            #expect(!sent.isEmpty)
            for n in done {
                #expect(!sent.contains { $0.contains("Record \(n): ") }, "journaled record \(n) was requested again")
            }
            #expect(second.stderr.contains("\(done.count) already journaled"))
        }
    }

    /// `--pack auto` packs as many records as fit `--pack-tokens` (4,000 by default, at most 100).
    @Test(arguments: ["interactions", "generate-content"])
    func packAutoFillsTheTokenBudget(api: String) async throws {
        let job = try Job(40)
        defer { job.dir.remove() }
        // The same greedy rule over the same estimate: how many packs 100 tokens make.
        var packs = 0, tokens = 0
        for n in 1...40 {
            let t = PackLayout.estimatedTokens(item: "Record \(n): comment number \(n), with words\n")
            if packs == 0 || tokens + t > 100 { packs += 1; tokens = 0 }
            tokens += t
        }
        try await SimulatorServer.withRunning(E2E.instant) { sim in
            let (one, _) = try await job.run(sim, output: "one.csv", ["--api", api])
            let (auto, report) = try await job.run(sim, output: "auto.csv", ["--pack", "auto", "--api", api])
            #expect(one.status == 0 && auto.status == 0, "\(auto.stderr)")
            #expect(job.dir.read("auto.csv") == job.dir.read("one.csv"))
            #expect(report["requests"]?.intValue == 1, "\(report)")
            let (budget, small) = try await job.run(sim, output: "small.csv", ["--pack", "auto", "--pack-tokens", "100", "--api", api])
            #expect(budget.status == 0, "\(budget.stderr)")
            #expect(job.dir.read("small.csv") == job.dir.read("one.csv"))
            #expect(small["requests"]?.intValue == packs && packs > 4, "\(small), expected \(packs)")
        }
    }

    /// The dry run counts packs as the run makes them, and the tokens they save.
    @Test func theDryRunEstimatesPacks() async throws {
        let job = try Job(40)
        defer { job.dir.remove() }
        let r = try await SluiceProcess.run(["run", job.input, "-t", job.template, "--pack", "5", "--dry-run"], environment: E2E.env)
        #expect(r.status == 0, "\(r.stderr)")
        let line = try #require(r.stderr.split(separator: "\n").first { $0.contains("per request") }, "\(r.stderr)")
        #expect(line.contains("≈8 requests (40 one by one)"), "\(line)")
        #expect(r.stderr.contains(" per 1,000 records at flex)"), "\(r.stderr)")
        // ~200 tokens of instructions once per pack instead of once per record.
        let numbers = line.split(separator: "≈").last!.split(separator: " ")
        let packed = Int(numbers[0])!, single = Int(numbers[3].dropFirst())!
        #expect(packed < single / 2, "\(line)")
    }

    /// Twins inside and across packs are sent once, and every twin gets the answer.
    @Test func identicalRecordsAreSentOnceAcrossPacks() async throws {
        let job = try Job(30, distinct: 7)
        defer { job.dir.remove() }
        // Answers take a second: every twin is read while its leader is still on the wire.
        var slow = E2E.instant
        slow.timeScale = 1
        slow.flex = .init(capacity: 100, queueLimit: 100, latency: .init(minimum: 1, median: 1, maximum: 1))
        try await SimulatorServer.withRunning(slow) { sim in
            let (one, _) = try await job.run(sim, output: "one.csv", [])
            #expect(one.status == 0, "\(one.stderr)")
            let sent = sim.simulator.stats().totals.requests
            #expect(sent == 7)
            let (packed, report) = try await job.run(sim, output: "packed.csv", ["--pack", "4"])
            #expect(packed.status == 0, "\(packed.stderr)")
            #expect(job.dir.read("packed.csv") == job.dir.read("one.csv"))
            #expect(report["requests"]?.intValue == 2, "\(report)")
            #expect(report["dedupe_calls_saved"]?.intValue == 23, "\(report)")
        }
    }
}
