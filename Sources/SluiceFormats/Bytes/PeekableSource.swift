/// A source whose first bytes can be looked at before anyone reads them: gzip magic, an XML
/// prolog or a CSV dialect are recognised from content, so a pipe works as well as a file.
public final class PeekableSource: ByteSource {
    private let inner: any ByteSource
    private var head: [UInt8] = []
    private var headStart = 0
    private var innerEnded = false

    public init(_ inner: any ByteSource) { self.inner = inner }

    public var name: String { inner.name }

    /// Up to `count` bytes from the current position (fewer only at end of input), not consumed.
    public func peek(_ count: Int) throws(FormatError) -> ArraySlice<UInt8> {
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while head.count - headStart < count, !innerEnded {
            var source = inner
            let wanted = min(chunk.count, count - (head.count - headStart))
            let n = try chunk.withUnsafeMutableBytes { buffer in
                Result { () throws(FormatError) -> Int in try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<wanted])) }
            }.get()
            if n == 0 { innerEnded = true } else { head.append(contentsOf: chunk[0..<n]) }
        }
        return head[headStart..<min(head.count, headStart + count)]
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(FormatError) -> Int {
        if headStart < head.count {
            let n = min(buffer.count, head.count - headStart)
            head.withUnsafeBytes { bytes in
                buffer.baseAddress!.copyMemory(from: bytes.baseAddress! + headStart, byteCount: n)
            }
            headStart += n
            if headStart == head.count {
                head = []
                headStart = 0
            }
            return n
        }
        if innerEnded { return 0 }
        var source = inner
        return try source.read(into: buffer)
    }
}
