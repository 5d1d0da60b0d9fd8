import Logging
import SluiceFormats
import SluiceJSON

/// The one loop of the passes that write the input back — the merge and a dry run's prompt
/// preview: records in input order, `limit` respected (the preserving XML writer still sees the
/// records past it, to keep the rest of the document), bad records to the dead-letter file,
/// each record's output fields from `fields`. Without an output it only visits the records.
struct OutputPass {
    let input: RecordInput
    let output: OutputFile?
    let limit: Int?
    let counters: RunCounters
    let logger: Logger
    /// Whether this pass counts the bad records it meets (the merge does not: pass 1 did).
    var countsBadRecords = false

    /// Returns the records written (or visited).
    func run(_ fields: (Record) async throws(EngineError) -> JSONObject) async throws(EngineError) -> Int {
        var written = 0
        counters.update { $0.written = 0 }
        while true {
            let next: RecordInput.Entry?
            do { next = try input.next() } catch { throw EngineError(error) }
            guard let entry = next else { break }
            if let limit, entry.number > limit {
                if let output, output.needsWholeInput { output.writer.skip(); continue }
                break
            }
            guard case .record(let record) = entry else {
                if case .bad(let error) = entry {
                    if countsBadRecords { counters.update { $0.badRecords += 1 } }
                    if let output { try output.reject(error) } else { logger.warning("skipping bad record: \(error)") }
                }
                continue
            }
            let out = try await fields(record)
            try output?.write(out)
            written += 1
            if written & 4095 == 0 {
                let n = written
                counters.update { $0.written = n }
            }
        }
        let n = written
        counters.update { $0.written = n }
        return written
    }
}
