import CZlib

/// Inflates a gzip stream while it is read. Every member of a multi-member file is read (RFC 1952
/// §2.2); zlib checks each member's CRC-32 and length; a stream that ends inside a member, or
/// bytes that are neither a member nor zero padding after one, are errors naming the compressed
/// offset: never a quiet early end.
public final class GzipSource: ByteSource {
    public let name: String
    private let inner: any ByteSource
    private let stream: UnsafeMutablePointer<z_stream>
    private let input: UnsafeMutableRawBufferPointer
    /// Compressed bytes handed to zlib so far (the offset of `input[0]` is this minus `avail_in`).
    private var compressedRead: Int64 = 0
    private var innerEnded = false
    private var inMember = true
    private var finished = false
    /// Members fully read so far.
    public private(set) var members = 0

    public init(_ inner: any ByteSource, bufferSize: Int = 1 << 17) throws(FormatError) {
        self.inner = inner
        name = inner.name
        input = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 1)
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // 15 + 16: a gzip wrapper, not zlib or raw deflate.
        let status = czlib_inflateInit2(stream, 15 + 16)
        if status != Z_OK {
            input.deallocate()
            stream.deallocate()
            throw FormatError(.io, "zlib cannot start inflating (status \(status))", file: inner.name)
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        input.deallocate()
    }

    /// Compressed offset of the next byte zlib will look at.
    private var compressedOffset: Int64 { compressedRead - Int64(stream.pointee.avail_in) }

    private func refill() throws(FormatError) {
        guard !innerEnded, stream.pointee.avail_in == 0 else { return }
        var source = inner
        let n = try source.read(into: input)
        if n == 0 { innerEnded = true; return }
        compressedRead += Int64(n)
        stream.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_in = uInt(n)
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(FormatError) -> Int {
        while !finished {
            try refill()
            if stream.pointee.avail_in == 0, innerEnded {
                if inMember {
                    throw FormatError(.corruptCompressedData, "the gzip stream is truncated: it ends at compressed byte \(compressedRead) inside member \(members + 1)",
                                      file: name, byteOffset: compressedRead)
                }
                finished = true
                break
            }
            if !inMember {
                try startNextMember()
                continue
            }
            stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(buffer.count)
            let before = compressedOffset
            let status = inflate(stream, Z_NO_FLUSH)
            let produced = buffer.count - Int(stream.pointee.avail_out)
            switch status {
            case Z_OK, Z_BUF_ERROR:
                break
            case Z_STREAM_END:
                members += 1
                inMember = false
            default:
                let reason = stream.pointee.msg.map { String(cString: $0) } ?? "status \(status)"
                throw FormatError(.corruptCompressedData, "the gzip stream is corrupt near compressed byte \(before) (member \(members + 1)): \(reason)",
                                  file: name, byteOffset: before)
            }
            if produced > 0 { return produced }
        }
        return 0
    }

    /// After a member: another member (magic bytes) or zero padding to the end; anything else is an error.
    private func startNextMember() throws(FormatError) {
        let next = stream.pointee.next_in!
        if next[0] == 0 {
            // Zero padding (tape and block devices add it): skip it, but only zeros.
            stream.pointee.next_in += 1
            stream.pointee.avail_in -= 1
            return
        }
        if next[0] == 0x1F {
            inflateReset(stream)
            inMember = true
            return
        }
        throw FormatError(.corruptCompressedData, "at compressed byte \(compressedOffset), after \(members) complete gzip member(s), come bytes that are not gzip data",
                          file: name, byteOffset: compressedOffset)
    }
}
