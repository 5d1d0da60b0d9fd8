import CZlib

/// Deflates into one gzip member. Level 1 by default: deflate at level 6 runs at ~13 MB/s on
/// these machines, slower than the rest of the pipeline; level 1 costs a few percent of size.
public final class GzipCompressor {
    public let level: Int32
    private let stream: UnsafeMutablePointer<z_stream>
    private var output: [UInt8]
    private var finished = false

    public init(level: Int32 = 1, name: String) throws(FormatError) {
        self.level = level
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        output = [UInt8](repeating: 0, count: 1 << 17)
        let status = czlib_deflateInit2(stream, level, 15 + 16)
        if status != Z_OK {
            stream.deallocate()
            throw FormatError(.io, "zlib cannot start compressing at level \(level) (status \(status))", file: name)
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// Compresses `bytes` (and with `finish`, ends the member), handing each compressed chunk to `emit`.
    public func compress(_ bytes: UnsafeRawBufferPointer, finish: Bool,
                         emit: (UnsafeRawBufferPointer) throws(FormatError) -> Void) throws(FormatError) {
        guard !finished else { return }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: bytes.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(bytes.count)
        let flush = finish ? Z_FINISH : Z_NO_FLUSH
        while true {
            let capacity = output.count
            let (status, produced) = output.withUnsafeMutableBytes { out -> (Int32, Int) in
                stream.pointee.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(capacity)
                let status = deflate(stream, flush)
                return (status, capacity - Int(stream.pointee.avail_out))
            }
            if status == Z_STREAM_ERROR { throw FormatError(.io, "zlib deflate failed", file: "gzip output") }
            if produced > 0 {
                try output.withUnsafeBytes { out in
                    Result { () throws(FormatError) in try emit(UnsafeRawBufferPointer(rebasing: out[0..<produced])) }
                }.get()
            }
            if finish {
                if status == Z_STREAM_END { finished = true; return }
            } else if stream.pointee.avail_in == 0, produced < capacity {
                return
            }
        }
    }
}
