import SluiceFormats
import SluiceJSON

/// Where a pass writes records: the output under a temporary name (or standard output), gzip
/// when asked or named `.gz`, the writer for the output format, and the dead-letter file. The
/// merge pass and a dry run's prompt preview both write through it.
final class OutputFile {
    let file: AtomicFile?
    let writer: any RecordWriter
    let deadLetters: DeadLetterFile
    /// The preserving XML writer needs the whole input, records past the limit included.
    let needsWholeInput: Bool

    /// `path` "-" is standard output; `gzip` nil: when the name ends in `.gz`. `newFields`: the
    /// fields the pass adds to each record, in order.
    init(path: String, gzip: Bool?, gzipLevel: Int32, deadLetters: String, format: RecordFormat, inputFormat: RecordFormat,
         reader: any RecordReader, columns: [String], newFields: [String], options: WriterOptions) throws(EngineError) {
        let toStdout = path == "-"
        do {
            file = toStdout ? nil : try AtomicFile(path: path)
            let sink = file?.sink ?? OutputSink.standardOutput()
            if gzip ?? (!toStdout && path.hasSuffix(".gz")) { try sink.compress(level: gzipLevel) }
            writer = try format.writer(sink: sink, columns: columns, newFields: newFields, inputFormat: inputFormat, reader: reader, options: options)
        } catch {
            throw EngineError(error)
        }
        self.deadLetters = DeadLetterFile(path: deadLetters)
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

    /// Removes what was written (a pass that failed leaves no partial output).
    func discard() {
        file?.discard()
        deadLetters.discard()
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
