#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A buffered byte sink over a file descriptor. `AtomicFile` makes the file appear only when
/// complete; standard output is written as it goes.
public final class OutputSink {
    public let name: String
    private let fd: Int32
    private let ownsDescriptor: Bool
    private var buffer: [UInt8] = []
    private let flushThreshold = 1 << 18

    init(fd: Int32, name: String, ownsDescriptor: Bool) {
        self.fd = fd
        self.name = name
        self.ownsDescriptor = ownsDescriptor
        buffer.reserveCapacity(flushThreshold + 4096)
    }

    /// Standard output (not closed by the sink).
    public static func standardOutput() -> OutputSink { OutputSink(fd: 1, name: "<stdout>", ownsDescriptor: false) }

    deinit { if ownsDescriptor { close(fd) } }

    @inline(__always) public func write(_ bytes: some Sequence<UInt8>) throws(FormatError) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= flushThreshold { try flush() }
    }

    public func flush() throws(FormatError) {
        var written = 0
        while written < buffer.count {
            let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FormatError(.io, "write failed: \(String(cString: strerror(errno)))", file: name)
            }
            written += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and forces the bytes to disk.
    public func sync() throws(FormatError) {
        try flush()
        if fsync(fd) != 0, errno != EINVAL, errno != EROFS {
            throw FormatError(.io, "fsync failed: \(String(cString: strerror(errno)))", file: name)
        }
    }
}

/// An output file written under a temporary name in the same directory and renamed into place
/// after an fsync, so readers never see half a file.
public final class AtomicFile {
    public let path: String
    public let temporaryPath: String
    public let sink: OutputSink
    private var committed = false

    public init(path: String) throws(FormatError) {
        self.path = path
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        temporaryPath = "\(directory)/.\(base).sluice-\(getpid()).tmp"
        let fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw FormatError(.io, "cannot create \(temporaryPath): \(String(cString: strerror(errno)))", file: path) }
        sink = OutputSink(fd: fd, name: path, ownsDescriptor: true)
    }

    /// fsync, rename over `path`, fsync the directory.
    public func commit() throws(FormatError) {
        try sink.sync()
        if rename(temporaryPath, path) != 0 {
            throw FormatError(.io, "cannot rename \(temporaryPath) to \(path): \(String(cString: strerror(errno)))", file: path)
        }
        committed = true
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let dfd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }

    deinit { if !committed { unlink(temporaryPath) } }
}
