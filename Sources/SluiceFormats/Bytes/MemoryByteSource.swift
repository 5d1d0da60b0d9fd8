/// A byte source over bytes in memory: for fuzz targets and tests, which need no file.
/// `chunk` caps each read, so records that span refills are exercised too.
public final class MemoryByteSource: ByteSource {
    public let name: String
    private let bytes: [UInt8]
    private var position = 0
    private let chunk: Int

    public init(_ bytes: [UInt8], name: String, chunk: Int = 1 << 16) {
        self.name = name
        self.bytes = bytes
        self.chunk = max(1, chunk)
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(FormatError) -> Int {
        let n = min(chunk, buffer.count, bytes.count - position)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { source in
            buffer.baseAddress!.copyMemory(from: source.baseAddress! + position, byteCount: n)
        }
        position += n
        return n
    }
}
