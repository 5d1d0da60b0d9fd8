import SluiceFormats

/// A byte source over memory, for reader tests that need no file.
final class MemorySource: ByteSource {
    let name: String
    let bytes: [UInt8]
    var position = 0
    /// Small reads exercise records that span buffer refills.
    let chunk: Int

    init(_ text: String, name: String = "mem.csv", chunk: Int = 7) {
        self.name = name
        bytes = Array(text.utf8)
        self.chunk = chunk
    }
    init(bytes: [UInt8], name: String = "mem.csv", chunk: Int = 7) {
        self.name = name
        self.bytes = bytes
        self.chunk = chunk
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(FormatError) -> Int {
        let n = min(chunk, buffer.count, bytes.count - position)
        for i in 0..<n { buffer[i] = bytes[position + i] }
        position += n
        return n
    }
}

func records(_ reader: any RecordReader) throws -> [Record] {
    var out: [Record] = []
    while let r = try reader.next() { out.append(r) }
    return out
}
