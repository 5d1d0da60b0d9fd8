@testable import SluiceEngine
import Testing

@Suite("Progress line")
struct ProgressLineTests {
    @Test func dispatchThenOutputPass() {
        var c = RunCounters.Snapshot()
        c.total = 1000
        c.alreadyDone = 100
        c.done = 300
        c.failed = 2
        c.inFlight = 40
        c.limit = 48
        c.retries = 7
        let line = RunReport.progressLine(c, elapsed: 30)
        #expect(line.hasPrefix("402/1000 records · 40 in flight (limit 48) · 7 retries · 2 failed · 0 tokens · 30.0 s · ETA "))
        // Once the output pass starts, the line says how far it is.
        c.written = 512
        #expect(RunReport.progressLine(c, elapsed: 75) == "writing the output, records: 512/1000 · 1m 15s")
    }
}
