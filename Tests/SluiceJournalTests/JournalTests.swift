import Foundation
import SluiceJournal
import Testing

@Suite("Journal")
struct JournalTests {
    func path() -> String { NSTemporaryDirectory() + "sluice-journal-\(UUID().uuidString).db" }
    let fp = JobFingerprint([("input", "a.csv size=1"), ("model", "m1"), ("template", "t1")])

    @Test func answersSurviveReopenAndFinalSetIsRight() throws {
        let p = path()
        do {
            let j = try Journal(path: p, fingerprint: fp, restart: false)
            var done = RecordUpdate(number: 1, byteOffset: 0, state: .done)
            done.answer = "yes"
            done.inputTokens = 5
            var failed = RecordUpdate(number: 3, byteOffset: 20, state: .failed)
            failed.error = "HTTP 400"
            try j.commit([done, failed, RecordUpdate(number: 2, byteOffset: 10, state: .inFlight)])
        }
        let j = try Journal(path: p, fingerprint: fp, restart: false)
        let finals = try j.finalRecords(retryFailed: false)
        #expect(finals.contains(1) && !finals.contains(2) && finals.contains(3) && finals.count == 2)
        #expect(try j.finalRecords(retryFailed: true).count == 1)
        let outcomes = try j.outcomes(after: 0, limit: 10)
        #expect(outcomes.map(\.number) == [1, 2, 3])
        #expect(outcomes[0].answer == "yes")
        let summary = try j.summary()
        #expect(summary.done == 1 && summary.failed == 1 && summary.inFlight == 1 && summary.inputTokens == 5)
    }

    @Test func anotherJobsJournalIsRefusedNamingWhatChanged() throws {
        let p = path()
        _ = try Journal(path: p, fingerprint: fp, restart: false)
        let other = JobFingerprint([("input", "a.csv size=1"), ("model", "m2"), ("template", "t1")])
        do {
            _ = try Journal(path: p, fingerprint: other, restart: false)
            Issue.record("mismatch accepted")
        } catch {
            #expect(error.code == .otherJob(changes: ["model changed (m1 → m2)"]))
            #expect(error.message.contains("model changed (m1 → m2)"))
        }
        _ = try Journal(path: p, fingerprint: other, restart: true)
    }

    @Test func secondProcessOnTheSameJournalIsRefused() throws {
        let p = path()
        let first = try Journal(path: p, fingerprint: fp, restart: false)
        #expect(throws: JournalError.self) { _ = try Journal(path: p, fingerprint: fp, restart: false) }
        _ = first
    }
}

/// A run killed between creating the journal file and its first transaction leaves a file with
/// no tables; reading it (sluice status, a resume check) sees an empty journal, not an SQL error.
@Suite("Journal reader")
struct JournalReaderTests {
    @Test func aJournalWithoutTablesReadsAsEmpty() throws {
        let path = NSTemporaryDirectory() + "sluice-journal-empty-\(UUID().uuidString).db"
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let reader = try JournalReader(path: path)
        #expect(try reader.summary() == Journal.Summary())
        #expect(try reader.meta().isEmpty)
        #expect(try reader.promptHashes(state: .done).isEmpty)
    }
}
