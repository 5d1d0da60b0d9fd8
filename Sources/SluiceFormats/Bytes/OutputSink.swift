#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A buffered byte sink over a file descriptor, gzip-compressed when asked. `AtomicFile` makes
/// the file appear only when complete; standard output is written as it goes.
public final class OutputSink {
    public let name: String
    private let fd: Int32
    private let ownsDescriptor: Bool
    private var buffer: [UInt8] = []
    private let flushThreshold = 1 << 18
    private var compressor: GzipCompressor?
    /// Set for a sink that keeps its bytes instead of writing a descriptor.
    private var kept: [UInt8]?

    init(fd: Int32, name: String, ownsDescriptor: Bool) {
        self.fd = fd
        self.name = name
        self.ownsDescriptor = ownsDescriptor
        buffer.reserveCapacity(flushThreshold + 4096)
    }

    /// Standard output (not closed by the sink).
    public static func standardOutput() -> OutputSink { OutputSink(fd: 1, name: "<stdout>", ownsDescriptor: false) }

    /// A sink that keeps what is written in memory (`keptBytes`): fuzz targets and round-trip
    /// checks read the output back without a file.
    public static func memory(name: String) -> OutputSink {
        let sink = OutputSink(fd: -1, name: name, ownsDescriptor: false)
        sink.kept = []
        return sink
    }

    /// What a `memory` sink holds so far (after `flush` or `finish`).
    public var keptBytes: [UInt8] { kept ?? [] }

    /// Compresses everything written from now on into one gzip member.
    public func compress(level: Int32) throws(FormatError) {
        compressor = try GzipCompressor(level: level, name: name)
    }

    deinit { if ownsDescriptor { close(fd) } }

    @inline(__always) public func write(_ bytes: some Sequence<UInt8>) throws(FormatError) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= flushThreshold { try flush() }
    }

    public func flush() throws(FormatError) { try drain(finish: false) }

    /// Flushes and ends the gzip member, if compressing. Nothing may be written after it.
    public func finish() throws(FormatError) { try drain(finish: true) }

    private func drain(finish: Bool) throws(FormatError) {
        if let compressor {
            try buffer.withUnsafeBytes { bytes in
                Result { () throws(FormatError) in
                    try compressor.compress(bytes, finish: finish) { (chunk) throws(FormatError) in try writeAll(chunk) }
                }
            }.get()
        } else {
            try buffer.withUnsafeBytes { bytes in Result { () throws(FormatError) in try writeAll(bytes) } }.get()
        }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws(FormatError) {
        if kept != nil {
            kept!.append(contentsOf: bytes)
            return
        }
        var written = 0
        while written < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + written, bytes.count - written)
            if n < 0 {
                if errno == EINTR { continue }
                throw FormatError(.io, "write failed: \(String(cString: strerror(errno)))", file: name)
            }
            written += n
        }
    }

    /// Finishes and forces the bytes to disk.
    public func sync() throws(FormatError) {
        try finish()
        if kept != nil { return }
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
    private var discarded = false

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

    /// Removes the temporary file: nothing reaches `path`. Idempotent; a no-op once committed.
    public func discard() {
        guard !committed, !discarded else { return }
        discarded = true
        unlink(temporaryPath)
    }

    /// A file for the scope of `body`: renamed into place when `body` returns, removed when it
    /// throws (the deinit is only a backstop).
    public static func with<T>(path: String, _ body: (AtomicFile) async throws -> T) async throws -> T {
        let file = try AtomicFile(path: path)
        do {
            let result = try await body(file)
            try file.commit()
            return result
        } catch {
            file.discard()
            throw error
        }
    }

    deinit { discard() }
}
