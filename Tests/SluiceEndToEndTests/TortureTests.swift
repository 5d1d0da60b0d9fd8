import Foundation
import SluiceEngine
import SluiceFormats
import SluiceJSON
import SluiceJournal
import SluiceSimulator
import SluiceTestSupport
import Testing

/// SIGKILL at random moments, again and again, then the same command: nothing lost, nothing
/// bought twice that was not in flight. Seeded (`SLUICE_TORTURE_SEED`) and bounded in time.
@Suite("crash-resume torture")
struct TortureTests {
    static let records = 5000

    @Test func twentyKillsThenResumeLoseNothingAndPayOnlyForWhatWasInFlight() async throws {
        let seed = ProcessInfo.processInfo.environment["SLUICE_TORTURE_SEED"].flatMap(UInt64.init) ?? 20261125
        var random = SeededRandom(seed: seed)
        let dir = try Scratch()
        defer { dir.remove() }
        var text = "id,text\n"
        for i in 1...Self.records { text += "\(i),\"Item \(i), \"\"quoted\"\"\"\n" }
        let input = try dir.write("in.csv", text)
        let template = try dir.write("t.md", "Summarize {{text}} ({{id}})")
        var config = SimulatorConfiguration()
        config.seed = seed
        config.timeScale = 1
        config.flex = .init(capacity: 3000, queueLimit: 3000, latency: .init(minimum: 0.005, median: 0.04, maximum: 0.3))
        // Faults that never deliver an answer: a kill is the only way to pay twice here.
        config.faults = [FaultRule(kind: .http503, probability: 0.05), FaultRule(kind: .http500, probability: 0.01)]
        config.captureBodies = false
        config.eventLogLimit = 100
        let env = ["GEMINI_API_KEY": "sim-test-key"]
        let common = ["-t", template, "--concurrency", "64", "--min-concurrency", "48", "--retry-base-delay", "0.01", "--retry-max-delay", "0.2", "--max-attempts", "40"]
        try await SimulatorServer.withRunning(config) { sim in
            let started = ContinuousClock.now
            let reference = try await SluiceProcess.run(["run", input, "-o", dir.path + "/reference.csv", "--endpoint", sim.baseURL] + common, environment: env)
            #expect(reference.status == 0, "\(reference.stderr)")
            sim.simulator.reset()
            let referenceTime = ContinuousClock.now - started

            let output = dir.path + "/out.csv"
            let journal = output + ".sluice-journal"
            let args = ["run", input, "-o", output, "--endpoint", sim.baseURL] + common
            var kills = 0
            var mergeKills = 0
            var inFlightAtKills = 0
            var snapshots: [(done: Set<String>, requests: [String: Int])] = []
            var finished: SluiceProcess.Result?
            let deadline = ContinuousClock.now + .seconds(300)
            while finished == nil, ContinuousClock.now < deadline {
                let journalComplete = FileManager.default.fileExists(atPath: journal)
                    && (try? JournalReader(path: journal).summary()).map { $0.done + $0.failed == Self.records } == true
                let process = try SluiceProcess(args, environment: env)
                var killNow = false
                if kills < 20, !journalComplete {
                    // Anywhere in the dispatch pass: reading, sending, journal commits.
                    try await Task.sleep(for: .milliseconds(Int.random(in: 30...400, using: &random)))
                    killNow = true
                } else if mergeKills < 3 {
                    // The merge pass: kill once its temporary output exists.
                    let temporary = "\(dir.path)/.out.csv.sluice-\(process.pid).tmp"
                    while !FileManager.default.fileExists(atPath: temporary), process.process.isRunning, ContinuousClock.now < deadline {
                        try await Task.sleep(for: .microseconds(200))
                    }
                    if FileManager.default.fileExists(atPath: temporary), process.process.isRunning {
                        killNow = true
                        mergeKills += 1
                    }
                }
                if killNow, process.process.isRunning {
                    let before = Self.inFlight(sim)
                    process.kill()
                    _ = await process.wait()
                    try await Task.sleep(for: .milliseconds(30))
                    kills += 1
                    #expect(!FileManager.default.fileExists(atPath: output), "a killed run left an output file")
                    // In flight at the kill: records the journal marks as sent but not answered,
                    // and requests the simulator still held (some just landing) — answers to
                    // either can be bought again by the next run; nothing else may be.
                    var sentNotJournaled = 0
                    if FileManager.default.fileExists(atPath: journal) {
                        let reader = try JournalReader(path: journal)
                        let done = Set(try reader.promptHashes(state: .done))
                        sentNotJournaled = try reader.summary().inFlight
                        snapshots.append((done, sim.simulator.stats().prompts.mapValues(\.requests)))
                    }
                    inFlightAtKills += sentNotJournaled + max(before, Self.inFlight(sim))
                } else {
                    let result = await process.wait()
                    if result.status == 0 { finished = result }
                    #expect(result.status == 0 || result.status == 137 || result.status == 9, "\(result.stderr)")
                }
            }
            let final = try #require(finished, "the job did not finish within the time bound")
            print("torture: seed \(seed), \(kills) kills (\(mergeKills) in the merge pass), paid twice \(Self.stats0(sim)) ≤ in flight \(inFlightAtKills), reference run \(referenceTime), all \(ContinuousClock.now - started)")
            #expect(kills >= 20, "only \(kills) kills")
            #expect(mergeKills >= 1, "no kill landed in the merge pass")

            // Output byte-identical to the uninterrupted run: every record once, in order.
            #expect(dir.read("out.csv") == dir.read("reference.csv"))
            let rows = try CSVReader(try FileByteSource(path: output))
            var n = 0
            while let row = try rows.next() {
                n += 1
                if row.fields["id"] != .string("\(n)") { Issue.record("record \(n) out of place: \(row.fields["id"] ?? .null)"); break }
            }
            #expect(n == Self.records)

            // No journaled record was requested again after it was journaled.
            let stats = sim.simulator.stats()
            for snapshot in snapshots {
                for hash in snapshot.done where stats.prompts[hash]?.requests != snapshot.requests[hash] {
                    Issue.record("record \(hash) was requested again after it was journaled")
                }
            }
            // Answers bought twice: at most what was in flight at the kills.
            let paidTwice = stats.prompts.values.reduce(0) { $0 + max(0, $1.answers - 1) }
            #expect(paidTwice <= inFlightAtKills, "paid twice: \(paidTwice), in flight at kills: \(inFlightAtKills)")
            // And never more than the records a run holds in process (--concurrency) per kill.
            #expect(paidTwice <= kills * 64)
            #expect(final.stderr.contains("already journaled"))
        }
    }

    static func stats0(_ sim: RunningSimulator) -> Int {
        sim.simulator.stats().prompts.values.reduce(0) { $0 + max(0, $1.answers - 1) }
    }

    /// Requests the simulator holds for the Flex tier now (in service or queued).
    static func inFlight(_ sim: RunningSimulator) -> Int {
        let flex = sim.simulator.statsJSON()["queues"]?["flex"]
        return (flex?["in_service"]?.intValue ?? 0) + (flex?["queued"]?.intValue ?? 0)
    }
}
