import Foundation
import SluiceEngine
import SluiceFormats
import SluiceJSON
import SluiceJournal
import SluiceSimulator
import Testing

/// What happens to the journal when the world misbehaves: damage, the wrong job, a second
/// process, a read-only place, a full disk. Each ends with a clear message and a documented exit
/// code, and nothing already journaled is lost.
@Suite("journal damage")
struct JournalDamageTests {
    static let env = E2E.env
    static var fast: SimulatorConfiguration { E2E.instant }

    static func input(_ dir: Scratch, _ n: Int) throws -> String {
        try dir.write("in.csv", "id,text\n" + (1...n).map { "\($0),\"Record number \($0) with some words to make the answer and the journal longer\"\n" }.joined())
    }

    @Test func aTruncatedJournalIsReportedAndKeptNotReplaced() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let input = try Self.input(dir, 300)
        let template = try dir.write("t.md", "{{text}}")
        try await SimulatorServer.withRunning(Self.fast) { sim in
            let args = ["run", input, "-t", template, "--endpoint", sim.baseURL]
            #expect(try await SluiceProcess.run(args, environment: Self.env).status == 0)
            let journal = dir.path + "/in.enriched.csv.sluice-journal"
            let size = try FileManager.default.attributesOfItem(atPath: journal)[.size] as! Int
            let truncated = try Data(contentsOf: URL(fileURLWithPath: journal)).prefix(size / 2)
            try truncated.write(to: URL(fileURLWithPath: journal))
            let r = try await SluiceProcess.run(args, environment: Self.env)
            #expect(r.status == 1)
            #expect(r.stderr.contains("journal \(journal)"), "\(r.stderr)")
            #expect(r.stderr.contains("move it aside") && r.stderr.contains("--restart"), "\(r.stderr)")
            // The damaged journal is still there, untouched: it may hold answers someone paid for.
            #expect(try Data(contentsOf: URL(fileURLWithPath: journal)) == truncated)
            let fresh = try await SluiceProcess.run(args + ["--restart"], environment: Self.env)
            #expect(fresh.status == 0, "\(fresh.stderr)")
        }
    }

    @Test func anotherJobsJournalASecondProcessAndAReadOnlyPlaceAreRefused() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let input = try Self.input(dir, 50)
        let template = try dir.write("t.md", "{{text}}")
        let other = try dir.write("other.md", "Other: {{text}}")
        var config = Self.fast
        config.timeScale = 1
        // Answers take 8 s: the first process still holds the journal when a loaded machine
        // gets the second one started (2 s were once not enough).
        config.flex = .init(capacity: 100, queueLimit: 100, latency: .init(minimum: 8, median: 8, maximum: 8))
        try await SimulatorServer.withRunning(config) { sim in
            // A second process on the same journal, while the first holds it.
            let first = try SluiceProcess(["run", input, "-t", template, "--endpoint", sim.baseURL], environment: Self.env)
            let deadline = ContinuousClock.now + .seconds(20)
            while sim.simulator.stats().totals.requests < 10, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            let second = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", sim.baseURL], environment: Self.env)
            #expect(second.status == 1)
            #expect(second.stderr.contains("is in use by another sluice process"), "\(second.stderr)")
            #expect(await first.wait().status == 0)

            // The journal of another job.
            let wrongJob = try await SluiceProcess.run(["run", input, "-t", other, "--endpoint", sim.baseURL, "-o", dir.path + "/in.enriched.csv"], environment: Self.env)
            #expect(wrongJob.status == 64)
            #expect(wrongJob.stderr.contains("belongs to a different job: template changed"), "\(wrongJob.stderr)")
            #expect(wrongJob.stderr.contains("--restart"))

            // A place nobody may write, not even root: /proc.
            let readOnly = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", sim.baseURL, "-o", "/proc/sluice-test-output.csv"], environment: Self.env)
            #expect(readOnly.status == 1)
            #expect(readOnly.stderr.contains("/proc/sluice-test-output.csv.sluice-journal"), "\(readOnly.stderr)")
            #expect(readOnly.stderr.contains("pass --journal with a writable path"), "\(readOnly.stderr)")
        }
    }

    /// A full disk during journal commits, made real with a file-size limit (`ulimit -f`): the
    /// write fails, the run stops with a message, and the rerun keeps every answer journaled before.
    @Test func aFullDiskStopsTheRunAndTheRerunKeepsWhatWasJournaled() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let input = try Self.input(dir, 3000)
        let template = try dir.write("t.md", "{{text}}")
        try await SimulatorServer.withRunning(Self.fast) { sim in
            let args = ["run", input, "-t", template, "--endpoint", sim.baseURL, "--concurrency", "16"]
            let full = try await SluiceProcess(args, environment: Self.env, shellLimits: "ulimit -f 2048").wait()
            #expect(full.status == 1, "\(full.stderr.suffix(1500))")
            #expect(full.stderr.contains("cannot write to the journal"), "\(full.stderr.suffix(1500))")
            #expect(full.stderr.contains("run the same command again to resume"))
            #expect(!full.stderr.contains("Fatal error"))
            #expect(!FileManager.default.fileExists(atPath: dir.path + "/in.enriched.csv"))
            let journal = dir.path + "/in.enriched.csv.sluice-journal"
            let kept = Set(try JournalReader(path: journal).promptHashes(state: .done))
            #expect(kept.count > 20, "only \(kept.count) answers were journaled before the disk filled")
            #expect(kept.count < 3000)
            let before = sim.simulator.stats().prompts.mapValues(\.requests)

            let rerun = try await SluiceProcess.run(args, environment: Self.env)
            #expect(rerun.status == 0, "\(rerun.stderr.suffix(1500))")
            #expect(rerun.stderr.contains("\(kept.count) already journaled"), "\(rerun.stderr.suffix(800))")
            let after = sim.simulator.stats().prompts
            for hash in kept where after[hash]?.requests != before[hash] {
                Issue.record("record \(hash) was journaled before the disk filled but requested again")
            }
            let rows = try CSVReader(try FileByteSource(path: dir.path + "/in.enriched.csv"))
            var n = 0
            while try rows.next() != nil { n += 1 }
            #expect(n == 3000)
        }
    }
}
