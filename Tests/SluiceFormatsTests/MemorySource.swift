import SluiceFormats

/// The tests' memory source: small reads (7 bytes) exercise records that span buffer refills.
typealias MemorySource = MemoryByteSource

extension MemoryByteSource {
    convenience init(_ text: String, name: String = "mem.csv", chunk: Int = 7) {
        self.init(Array(text.utf8), name: name, chunk: chunk)
    }
    convenience init(bytes: [UInt8], name: String = "mem.csv", chunk: Int = 7) {
        self.init(bytes, name: name, chunk: chunk)
    }
}

func records(_ reader: any RecordReader) throws -> [Record] {
    var out: [Record] = []
    while let r = try reader.next() { out.append(r) }
    return out
}
