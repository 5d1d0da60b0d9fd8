import SluiceFormats
import SluiceJSON

/// One fuzz target per reader. Bytes in: every record is read the way a run reads them (going on
/// past record-level errors, as `--on-bad-record skip` does), then written back and read again.
/// A `FormatError` is the right answer to bad bytes; a trap, a broken invariant (`check`) or a
/// round trip that changes a field is a finding. The libFuzzer entry (`Fuzz/Entry.swift`) and the
/// regression test over `Fuzz/Crashes` both call `run`, so a fixed crash stays fixed.
///
/// The first byte of an input chooses the reader's options (see `Control`); the rest is the file.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case csv, jsonl, xml, gzip

    /// Runs one input; returns the number of records read (for the regression test's log).
    @discardableResult
    public func run(_ data: [UInt8]) -> Int {
        let control = Control(data.first ?? 0)
        let file = Array(data.dropFirst())
        switch self {
        case .csv: return Self.csv(file, control)
        case .jsonl: return Self.jsonl(file, control)
        case .xml: return Self.xml(file, control)
        case .gzip: return Self.gzip(file, control)
        }
    }

    /// The option bits of the first byte.
    struct Control {
        let bits: UInt8
        init(_ bits: UInt8) { self.bits = bits }
        func bit(_ n: UInt8) -> Bool { bits & (1 << n) != 0 }
        /// Small reads make every record span refills of the reader's buffer (and libxml2's).
        var chunk: Int { bit(7) ? 7 : 1 << 16 }
        /// Tight limits make the too-large paths reachable with small inputs.
        var limits: ReaderLimits {
            var limits = ReaderLimits()
            if bit(6) {
                limits.maxFieldBytes = 64
                limits.maxRecordBytes = 256
                limits.maxColumns = 16
            }
            return limits
        }
    }

    // MARK: - Readers

    static func csv(_ file: [UInt8], _ control: Control) -> Int {
        var options = ReaderOptions()
        options.limits = control.limits
        options.hasHeader = !control.bit(1)
        options.raggedRows = control.bit(2) ? .pad : control.bit(3) ? .truncate : .fail
        options.invalidUTF8 = control.bit(4) ? .replace : .fail
        let delimiters: [UInt8] = [0x2C, 0x3B, 0x09, 0x7C]
        let source = PeekableSource(MemoryByteSource(file, name: "fuzz.csv", chunk: control.chunk))
        let reader: any RecordReader
        do {
            if control.bit(0) {
                // A fixed dialect, as `--delimiter`/`--quote` give.
                options.dialect = CSVDialect(delimiter: delimiters[Int(control.bits >> 2) & 3], quote: control.bit(5) ? nil : 0x22, hasHeader: options.hasHeader)
            }
            reader = try RecordFormat.csv.reader(source, options: options)
        } catch {
            return 0
        }
        let (records, clean) = readAll(reader, bytes: file.count)
        guard clean, let csv = reader as? CSVReader, let columns = csv.columns else { return records.count }
        // Written as a run writes CSV (the input's delimiter, RFC 4180 quoting, the header as
        // spelled) and read back with that dialect: every field must come back unchanged.
        let sink = OutputSink.memory(name: "fuzz.out.csv")
        let dialect = CSVDialect(delimiter: csv.dialect.delimiter, hasHeader: csv.dialect.hasHeader)
        do {
            let writer = try CSVWriter(sink: sink, columns: columns, dialect: dialect, inputHeader: csv.header)
            for record in records { try writer.write(record.fields) }
            try writer.finish()
        } catch {
            check(false, "CSVWriter refused what CSVReader read: \(error)")
        }
        var again = options
        again.dialect = dialect
        again.raggedRows = .fail
        again.limits = ReaderLimits()
        let reread = readBack(sink.keptBytes, format: .csv, options: again)
        checkSame(records, reread, "CSV", output: sink.keptBytes)
        return records.count
    }

    static func jsonl(_ file: [UInt8], _ control: Control) -> Int {
        var options = ReaderOptions()
        options.limits = control.limits
        options.invalidUTF8 = control.bit(4) ? .replace : .fail
        let reader = JSONLReader(MemoryByteSource(file, name: "fuzz.jsonl", chunk: control.chunk), options: options)
        let (records, _) = readAll(reader, bytes: file.count)
        let sink = OutputSink.memory(name: "fuzz.out.jsonl")
        do {
            let writer = JSONLWriter(sink: sink)
            for record in records { try writer.write(record.fields) }
            try writer.finish()
        } catch {
            check(false, "JSONLWriter refused what JSONLReader read: \(error)")
        }
        let reread = readBack(sink.keptBytes, format: .jsonl, options: ReaderOptions())
        checkSame(records, reread, "JSON Lines", output: sink.keptBytes)
        return records.count
    }

    static func xml(_ file: [UInt8], _ control: Control) -> Int {
        var options = ReaderOptions()
        options.limits = control.limits
        options.allowEntities = control.bit(1)
        if control.bit(2) { options.recordElement = "item" }
        let capture = control.bit(0)
        let reader: XMLRecordReader
        do {
            reader = try XMLRecordReader(MemoryByteSource(file, name: "fuzz.xml", chunk: control.chunk), options: options, captureDocument: capture)
        } catch {
            return 0
        }
        // With the document kept, the preserving writer (no new fields) writes each record as it
        // is read, as a run's merge does; read again, the output must yield the same records.
        let sink = OutputSink.memory(name: "fuzz.out.xml")
        var writer: XMLDocumentWriter?
        do {
            if capture { writer = try XMLDocumentWriter(sink: sink, reader: reader, newFields: []) }
        } catch {
            check(false, "XMLDocumentWriter refused a capturing reader: \(error)")
        }
        var writeError: FormatError?
        let (records, clean) = readAll(reader, bytes: file.count) { record in
            do throws(FormatError) { try writer?.write(record.fields) } catch { writeError = writeError ?? error }
        }
        guard let writer, clean else { return records.count }
        do {
            if let writeError { throw writeError }
            try writer.finish()
        } catch {
            check(false, "XMLDocumentWriter failed on a document that read cleanly: \(error)")
        }
        // Read again as the input was: a sniffed record element is sniffed again (the document
        // is the same), a given one is given. Naming the sniffed element instead changes the
        // question — a given element matches at any depth (RSS's channel/item), the sniffed one
        // only among the root's children — so an Atom feed read as its one <title> would have
        // turned into two records (found by this target).
        var again = options
        again.limits = ReaderLimits()
        let reread = readBack(sink.keptBytes, format: .xml, options: again, allowNoRecords: records.isEmpty)
        checkSame(records, reread, "XML", output: sink.keptBytes)
        return records.count
    }

    static func gzip(_ file: [UInt8], _ control: Control) -> Int {
        // Inflate whatever the bytes are; then, where the magic says gzip, read records through
        // the same path `sluice run` takes (sniffed format over the inflated bytes).
        var inflated = 0
        do {
            let source = try GzipSource(MemoryByteSource(file, name: "fuzz.gz", chunk: control.chunk))
            var buffer = [UInt8](repeating: 0, count: 1 << 12)
            while inflated < 1 << 24 {
                let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
                if n == 0 { break }
                check(n <= buffer.count, "GzipSource returned \(n) bytes into a buffer of \(buffer.count)")
                inflated += n
            }
        } catch {
            // Corrupt or truncated: a FormatError is the answer. The compressor must still round-trip the bytes.
        }
        let sink = OutputSink.memory(name: "fuzz.out.gz")
        do {
            try sink.compress(level: 1)
            try sink.write(file)
            try sink.finish()
            let back = try GzipSource(MemoryByteSource(sink.keptBytes, name: "fuzz.out.gz", chunk: control.chunk))
            var buffer = [UInt8](repeating: 0, count: 1 << 12)
            var restored: [UInt8] = []
            while true {
                let n = try buffer.withUnsafeMutableBytes { try back.read(into: $0) }
                if n == 0 { break }
                restored.append(contentsOf: buffer[0..<n])
            }
            check(restored == file, "gzip round trip changed \(file.count) bytes into \(restored.count)")
        } catch {
            check(false, "gzip round trip failed: \(error)")
        }
        guard file.starts(with: [0x1F, 0x8B]) else { return 0 }
        do {
            let source = PeekableSource(try GzipSource(MemoryByteSource(file, name: "fuzz.gz", chunk: control.chunk)))
            let format = try InputFile.sniffFormat(source)
            let reader = try format.reader(source)
            return readAll(reader, bytes: nil).records.count
        } catch {
            return 0
        }
    }

    // MARK: - Invariants

    /// Reads to the end, going on after record-level errors as `--on-bad-record skip` does.
    /// `clean`: no error at all.
    /// `bytes`: the input's length, when the reader's offsets count its bytes (nil: inflated input).
    static func readAll(_ reader: any RecordReader, bytes: Int?, onRecord: (Record) -> Void = { _ in }) -> (records: [Record], clean: Bool) {
        var records: [Record] = []
        var clean = true
        var last = 0
        var lastOffset: Int64 = -1
        // Each call consumes at least one byte or ends the input; more calls than bytes is a loop.
        var calls = 0
        while true {
            calls += 1
            check(bytes.map { calls <= $0 + 2 } ?? true, "the reader did not end after \(calls) calls on \(bytes ?? 0) bytes")
            do {
                guard let record = try reader.next() else { break }
                check(record.number > last, "record numbers went from \(last) to \(record.number)")
                check(record.byteOffset >= lastOffset, "byte offsets went back from \(lastOffset) to \(record.byteOffset)")
                check(bytes.map { record.byteOffset <= Int64($0) } ?? true, "record \(record.number) starts at byte \(record.byteOffset) of \(bytes ?? 0)")
                last = record.number
                lastOffset = record.byteOffset
                records.append(record)
                onRecord(record)
            } catch {
                clean = false
                if let n = error.record {
                    check(n > last, "the bad record's number \(n) is not past \(last)")
                    last = n
                }
                guard error.isRecordLevel else { break }
            }
        }
        return (records, clean)
    }

    /// Reads what a writer wrote; it must read without any error.
    static func readBack(_ bytes: [UInt8], format: RecordFormat, options: ReaderOptions, allowNoRecords: Bool = false) -> [Record] {
        do {
            let reader = try format.reader(PeekableSource(MemoryByteSource(bytes, name: "fuzz.out")), options: options)
            var records: [Record] = []
            while let record = try reader.next() { records.append(record) }
            return records
        } catch {
            if allowNoRecords, error.code == .noSuchRecordElement { return [] }
            check(false, "the output does not read back: \(error)\n\(String(decoding: bytes.prefix(2000), as: UTF8.self))")
            return []
        }
    }

    /// What was read, written and read again must be the same records.
    static func checkSame(_ records: [Record], _ reread: [Record], _ format: String, output: [UInt8]) {
        check(reread.count == records.count, "\(format) round trip: \(records.count) records became \(reread.count); output:\n\(String(decoding: output.prefix(2000), as: UTF8.self))")
        for (a, b) in zip(records, reread) {
            check(a.fields == b.fields, "\(format) round trip changed record \(a.number): \(a.fields) became \(b.fields)")
        }
    }

    /// A broken invariant is a finding: trap, so the fuzzer saves the input.
    static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError("fuzz invariant: \(message())") }
    }
}
