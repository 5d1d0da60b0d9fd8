import Foundation
import SluiceJSON
import SluiceJournal
import SluiceSimulator
import SluiceTestSupport
import Testing

/// `--mode batch` as a user runs it: the same output as an online run, and a job killed at any
/// step of a wave resumes without creating a second batch for the same records.
@Suite("Batch mode end to end")
struct BatchEndToEndTests {
    static let env = E2E.env

    /// Rows with a twin, a record the service fails once (a second wave sends it again) and one
    /// it blocks (an error cell).
    static func input(_ dir: Scratch, jsonl: Bool, n: Int = 30) throws -> String {
        var rows: [(Int, String)] = (1...n).map { ($0, "row \($0) about item \($0 % 7)") }
        rows.append((n + 1, "row 3 about item 3"))
        rows.append((n + 2, "flaky row sim-fault:500*1"))
        rows.append((n + 3, "blocked row sim-fault:safety"))
        if jsonl {
            return try dir.write("in.jsonl", rows.map { #"{"id":\#($0.0),"text":"\#($0.1)"}"# }.joined(separator: "\n") + "\n")
        }
        return try dir.write("in.csv", "id,text\n" + rows.map { "\($0.0),\($0.1)" }.joined(separator: "\n") + "\n")
    }

    static func template(_ dir: Scratch, schema: Bool) throws -> String {
        guard schema else { return try dir.write("t.md", "Describe: {{text}}") }
        return try dir.write("t.md", """
            ---
            schema:
              type: object
              properties:
                label: {type: string}
                score: {type: integer}
              required: [label, score]
            ---
            Label: {{text}}
            """)
    }

    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func batchOutputEqualsFlexOutput(jsonl: Bool, schema: Bool) async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let input = try Self.input(dir, jsonl: jsonl)
        let template = try Self.template(dir, schema: schema)
        let ext = jsonl ? "jsonl" : "csv"
        // Each mode on a simulator of its own: the faults hit the first attempt of each. Batch
        // lines are generateContent bodies, so the online run uses that surface too (an error
        // cell quotes the surface's own message).
        try await SimulatorServer.withRunning(E2E.instant) { sim in
            let flex = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", sim.baseURL, "--retry-base-delay", "0.01",
                                                    "--api", "generate-content", "-o", dir.path + "/flex.\(ext)"], environment: Self.env)
            #expect(flex.status == 2, "\(flex.stderr.suffix(1500))")
        }
        try await SimulatorServer.withRunning(E2E.instant) { sim in
            let common = ["run", input, "-t", template, "--endpoint", sim.baseURL, "--batch-poll", "0.05"]
            let batch = try await SluiceProcess.run(common + ["-o", dir.path + "/batch.\(ext)", "--mode", "batch", "--report", dir.path + "/r.json"], environment: Self.env)
            #expect(batch.status == 2, "\(batch.stderr.suffix(1500))")
            let (b, f) = (dir.read("batch.\(ext)").split(separator: "\n"), dir.read("flex.\(ext)").split(separator: "\n"))
            #expect(b.count == f.count && b == f, "\(zip(b, f).filter { $0 != $1 }.prefix(3))")
            #expect(!dir.read("batch.\(ext)").isEmpty)
            let stats = sim.simulator.statsJSON(prompts: false)["batch"]
            // The flaky record failed in wave 1 and went again in wave 2.
            #expect(stats?["batches_created"] == 2, "\(stats ?? .null)")
            let report = try JSONParser.parse(Data(dir.read("r.json").utf8))
            #expect(report["records"]?["failed"] == 1, "\(report)")
            #expect(batch.stderr.contains("batch $"), "\(batch.stderr.suffix(600))")
            // Twins went once: 33 records, 32 distinct prompts, plus the flaky one again.
            #expect(stats?["lines_answered"].flatMap(\.intValue).map { $0 + (stats?["lines_failed"]?.intValue ?? 0) } == 33, "\(stats ?? .null)")
        }
    }

    enum KillPoint: String, CaseIterable, Sendable { case upload, create, poll, download }

    /// SIGKILL at each step of a wave, then the same command: one batch per wave in all
    /// (simulator stats), and the output of an uninterrupted run.
    @Test(arguments: KillPoint.allCases)
    func aKillAtEachStepResumesWithoutASecondBatch(at point: KillPoint) async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        var rows = "id,text\n"
        for i in 1...40 { rows += "\(i),record \(i) to label\n" }
        let input = try dir.write("in.csv", rows)
        let template = try dir.write("t.md", "{{text}}")
        var config = E2E.instant
        config.timeScale = 1
        config.batchPendingSeconds = 0.5
        config.batchLatency = .init(minimum: 2, median: 2, maximum: 2)
        // The reference run goes online: answers at once.
        config.flex = .init(capacity: 64, queueLimit: 1_000, latency: .zero)
        // Slow uploads (chunks sent again after a fault) leave a moment to kill in.
        if point == .upload { config.uploadChunkFaults = 3 }
        try await SimulatorServer.withRunning(config) { sim in
            let args = ["run", input, "-t", template, "--endpoint", sim.baseURL, "--mode", "batch", "--batch-poll", "0.05", "-o", dir.path + "/out.csv"]
            let process = try SluiceProcess(args, environment: Self.env)
            func batch(_ key: String) -> Int { sim.simulator.statsJSON(prompts: false)["batch"]?[key]?.intValue ?? 0 }
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline, process.process.isRunning {
                let reached = switch point {
                case .upload: batch("uploads_started") >= 1 && batch("files_uploaded") == 0 && batch("upload_chunk_faults") >= 1
                case .create: batch("batches_created") >= 1
                case .poll: batch("batches_created") >= 1 && batch("downloads") == 0
                case .download: batch("downloads") >= 1
                }
                if reached { break }
                try await Task.sleep(for: .milliseconds(2))
            }
            // Past the create's journal write, well before the batch ends (2 s).
            if point == .poll { try await Task.sleep(for: .milliseconds(500)) }
            if point != .download { #expect(process.process.isRunning, "the run ended before the kill at \(point)") }
            process.kill()
            _ = await process.wait()
            let rerun = try await SluiceProcess.run(args, environment: Self.env)
            #expect(rerun.status == 0, "\(rerun.stderr.suffix(1500))")
            #expect(batch("batches_created") == 1, "\(sim.simulator.statsJSON(prompts: false)["batch"] ?? .null)")
            // Every prompt was answered by a batch exactly once.
            for (hash, counters) in sim.simulator.stats().prompts {
                #expect(counters.batchRequests == 1, "prompt \(hash) was in \(counters.batchRequests) batch lines")
            }
            let reference = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", sim.baseURL, "-o", dir.path + "/ref.csv"], environment: Self.env)
            #expect(reference.status == 0)
            #expect(dir.read("out.csv") == dir.read("ref.csv") && !dir.read("out.csv").isEmpty)
        }
    }

    /// A job bigger than the enqueued-token cap goes in waves (a create refused with 429 waits
    /// for a running wave); a wave that expires sends its records again.
    @Test func aJobOverTheTokenCapRunsInWavesAndAnExpiredWaveIsSentAgain() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        var rows = "id,text\n"
        for i in 1...60 { rows += "\(i),record number \(i) with a few more words\n" }
        let input = try dir.write("in.csv", rows)
        let template = try dir.write("t.md", "{{text}}")
        var config = E2E.instant
        config.timeScale = 1
        config.batchPendingSeconds = 0.2
        // Long enough that the next wave's create always meets the running one (a loaded
        // machine once built and uploaded it after 0.6 s).
        config.batchLatency = .init(minimum: 3, median: 3, maximum: 3)
        config.batchEnqueuedTokenCap = 300
        config.batchExpireFirst = 1
        try await SimulatorServer.withRunning(config) { sim in
            let r = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", sim.baseURL, "--mode", "batch", "--batch-poll", "0.05",
                                                 "--batch-wave-tokens", "200", "-o", dir.path + "/out.csv", "-v"], environment: Self.env)
            #expect(r.status == 0, "\(r.stderr.suffix(2000))")
            let stats = try #require(sim.simulator.statsJSON(prompts: false)["batch"])
            // 60 records of ~10 tokens: waves of ~200 tokens, two never live together under 300.
            #expect((stats["batches_created"]?.intValue ?? 0) >= 4, "\(stats)")
            #expect((stats["creates_refused"]?.intValue ?? 0) >= 1, "\(stats)")
            #expect(stats["jobs_by_state"]?["BATCH_STATE_EXPIRED"] == 1, "\(stats)")
            #expect(r.stderr.contains("ended without results"), "\(r.stderr.suffix(1500))")
            // Every record answered once by a batch that succeeded: the expired wave's records went again.
            for (hash, c) in sim.simulator.stats().prompts { #expect(c.answers == 1, "prompt \(hash): \(c.answers) answers") }
            #expect(dir.read("out.csv").split(separator: "\n").count == 61)
            let status = try await SluiceProcess.run(["status", "--journal", dir.path + "/out.csv.sluice-journal"])
            #expect(status.stdout.contains("batch wave 1: lost"), "\(status.stdout)")
        }
    }

    /// Ctrl-C leaves the batch running (exit 75, resumable); `sluice cancel` cancels it.
    @Test func ctrlCLeavesTheBatchRunningAndCancelCancelsIt() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let input = try dir.write("in.csv", "id,text\n1,one\n2,two\n")
        let template = try dir.write("t.md", "{{text}}")
        var config = E2E.instant
        config.timeScale = 1
        config.batchPendingSeconds = 600
        try await SimulatorServer.withRunning(config) { sim in
            let journal = dir.path + "/out.csv.sluice-journal"
            let process = try SluiceProcess(["run", input, "-t", template, "--endpoint", sim.baseURL, "--mode", "batch", "--batch-poll", "0.05",
                                             "-o", dir.path + "/out.csv"], environment: Self.env)
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline, sim.simulator.statsJSON(prompts: false)["batch"]?["batches_created"] != 1 {
                try await Task.sleep(for: .milliseconds(10))
            }
            try await Task.sleep(for: .milliseconds(300))
            process.process.signal(SIGINT)
            let stopped = await process.wait()
            #expect(stopped.status == 75, "\(stopped.stderr.suffix(1500))")
            #expect(sim.simulator.statsJSON(prompts: false)["batch"]?["cancelled"] == 0)
            let cancel = try await SluiceProcess.run(["cancel", "--journal", journal, "--endpoint", sim.baseURL], environment: Self.env)
            #expect(cancel.status == 0, "\(cancel.stderr)")
            #expect(cancel.stdout.contains("cancelled wave 1"), "\(cancel.stdout)")
            #expect(sim.simulator.statsJSON(prompts: false)["batch"]?["cancelled"] == 1)
        }
    }

    /// `--retry-failed` sends again, through a batch, the records an earlier run failed.
    @Test func retryFailedSendsFailedRecordsAgainInBatchMode() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let input = try dir.write("in.csv", "id,text\n1,fine\n2,blocked once sim-fault:safety*1\n")
        let template = try dir.write("t.md", "{{text}}")
        try await SimulatorServer.withRunning(E2E.instant) { sim in
            let args = ["run", input, "-t", template, "--endpoint", sim.baseURL, "--mode", "batch", "--batch-poll", "0.05", "-o", dir.path + "/out.csv"]
            let first = try await SluiceProcess.run(args, environment: Self.env)
            #expect(first.status == 2, "\(first.stderr.suffix(1500))")
            let again = try await SluiceProcess.run(args + ["--retry-failed"], environment: Self.env)
            #expect(again.status == 0, "\(again.stderr.suffix(1500))")
            #expect(sim.simulator.statsJSON(prompts: false)["batch"]?["batches_created"] == 2)
            #expect(!dir.read("out.csv").contains("SAFETY"), "\(dir.read("out.csv"))")
        }
    }
}
