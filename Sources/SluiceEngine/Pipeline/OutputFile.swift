import SluiceFormats
import SluiceJSON

/// Where a pass writes records: the output under a temporary name (or standard output), gzip
/// when asked or named `.gz`, the writer for the output format, and the dead-letter file. The
/// merge pass and a dry run's prompt preview both write through it.
final class OutputFile {
    let file: AtomicFile?
    let writer: any RecordWriter
    let deadLetters: DeadLetterFile
    /// The preserving XML writer needs the whole input, records past `--limit` included.
    let needsWholeInput: Bool

    /// `newFields`: the fields the pass adds to each record, in order.
    init(job: EnrichmentJob, reader: any RecordReader, columns: [String], newFields: [String]) throws(EngineError) {
        let options = job.options
        let toStdout = options.outputPath == "-"
        do {
            file = toStdout ? nil : try AtomicFile(path: job.outputPath)
            let sink = file?.sink ?? OutputSink.standardOutput()
            if options.gzipOutput ?? (!toStdout && job.outputPath.hasSuffix(".gz")) { try sink.compress(level: options.gzipLevel) }
            writer = try job.makeWriter(sink: sink, reader: reader, columns: columns, newFields: newFields)
        } catch {
            throw EngineError(error)
        }
        deadLetters = DeadLetterFile(path: job.badRecordsPath)
        needsWholeInput = writer is XMLDocumentWriter
    }

    func write(_ fields: JSONObject) throws(EngineError) {
        do { try writer.write(fields) } catch { throw EngineError(error) }
    }

    /// A bad record: to the dead-letter file, not to the output.
    func reject(_ error: FormatError) throws(EngineError) {
        do { try deadLetters.append(error) } catch { throw EngineError(error) }
        writer.skip()
    }

    /// Ends the output and the dead-letter file and renames them into place.
    func commit() throws(EngineError) {
        do {
            try writer.finish()
            try deadLetters.commit()
            try file?.commit()
        } catch {
            throw EngineError(error)
        }
    }
}
