#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A forward-only stream of bytes: a file, or a decompressor over another source.
public protocol ByteSource {
    /// Fills `buffer` with up to `buffer.count` bytes; 0 means end of input.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(FormatError) -> Int
    /// Name used in error messages.
    var name: String { get }
}

/// Reads a file (or `/dev/stdin`) through its descriptor; closes it when released.
public final class FileByteSource: ByteSource {
    public let name: String
    private let fd: Int32

    public init(path: String, displayName: String? = nil) throws(FormatError) {
        name = displayName ?? path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw FormatError(.io, "cannot open: \(String(cString: strerror(errno)))", file: name) }
    }

    deinit { close(fd) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(FormatError) -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw FormatError(.io, "read failed: \(String(cString: strerror(errno)))", file: name)
        }
    }
}

/// Buffers a `ByteSource` for byte-level parsers and tracks the absolute offset.
public final class ByteReader {
    public let source: any ByteSource
    private let buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    /// Absolute offset of the next unread byte.
    public private(set) var offset: Int64 = 0
    private var exhausted = false

    public init(_ source: any ByteSource, capacity: Int = 1 << 18) {
        self.source = source
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
    }

    deinit { buffer.deallocate() }

    public var name: String { source.name }

    /// The next byte without consuming it; nil at end of input.
    @inline(__always) public func peek() throws(FormatError) -> UInt8? {
        if start == end { try refill() }
        return start == end ? nil : buffer[start]
    }

    @inline(__always) public func next() throws(FormatError) -> UInt8? {
        if start == end { try refill() }
        if start == end { return nil }
        let byte = buffer[start]
        start += 1
        offset += 1
        return byte
    }

    /// The bytes buffered now (refilling when empty); empty at end of input.
    public func available() throws(FormatError) -> UnsafeRawBufferPointer {
        if start == end { try refill() }
        return UnsafeRawBufferPointer(rebasing: buffer[start..<end])
    }

    /// The bytes buffered now, reading on until there are at least `count` (or the input ends):
    /// a source may answer its first read with fewer bytes than a prefix check needs (the two
    /// bytes peeked for the gzip magic come back alone).
    public func available(atLeast count: Int) throws(FormatError) -> UnsafeRawBufferPointer {
        precondition(count <= buffer.count)
        while end - start < count, !exhausted {
            if start > 0 {
                buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: end - start)
                end -= start
                start = 0
            }
            var source = self.source
            let read = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
            if read == 0 { exhausted = true }
            end += read
        }
        return UnsafeRawBufferPointer(rebasing: buffer[start..<end])
    }

    /// Consumes `count` bytes previously returned by `available()`.
    @inline(__always) public func consume(_ count: Int) {
        start += count
        offset += Int64(count)
    }

    private func refill() throws(FormatError) {
        guard !exhausted else { return }
        var source = self.source
        start = 0
        end = try source.read(into: buffer)
        if end == 0 { exhausted = true }
    }
}
