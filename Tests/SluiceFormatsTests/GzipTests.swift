import Foundation
import SluiceFormats
import SluiceTestSupport
import Testing

/// Temporary files for one test, removed when it ends.
final class TempDir {
    let path = NSTemporaryDirectory() + "sluice-formats-\(UUID().uuidString)"
    init() { try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { "\(path)/\(name)" }
}

/// Reads a whole source into memory (tests only).
func drain(_ source: some ByteSource) throws(FormatError) -> [UInt8] {
    var source = source
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1000)
    while true {
        let n = try buffer.withUnsafeMutableBytes { b in Result { () throws(FormatError) in try source.read(into: b) } }.get()
        if n == 0 { return out }
        out += buffer[0..<n]
    }
}

/// Writes `text` gzip-compressed by zlib through the output sink.
func writeGzip(_ text: String, to path: String, level: Int32 = 1) throws {
    let file = try AtomicFile(path: path)
    try file.sink.compress(level: level)
    try file.sink.write(Array(text.utf8))
    try file.commit()
}

func run(_ tool: String, _ arguments: [String]) async throws {
    let r = try await Subprocess.run([tool] + arguments)
    #expect(r.status == 0, "\(tool) \(arguments): \(r.stderr)")
}

@Suite("gzip")
struct GzipTests {
    static let text = (1...5000).map { "\($0),row number \($0),\(String(repeating: "x", count: $0 % 50))\n" }.joined()

    @Test func zlibWrittenFileRoundTripsAndIsRecognisedByMagicNotName() async throws {
        let dir = TempDir()
        // Named .csv on purpose: the magic bytes decide.
        let path = dir.file("data.csv")
        try writeGzip(Self.text, to: path)
        let raw = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(raw.prefix(2) == Data([0x1F, 0x8B]))
        #expect(raw.count < Self.text.utf8.count / 2)
        let opened = try InputFile.open(path: path)
        #expect(opened.compressed)
        #expect(try drain(opened.source) == Array(Self.text.utf8))
        // gzip(1) agrees with zlib's output.
        try await run("gzip", ["-t", path])
    }

    @Test func gzipCommandOutputAndMultipleMembersReadToTheEnd() async throws {
        let dir = TempDir()
        let first = dir.file("a.txt"), second = dir.file("b.txt")
        try Data("first member\n".utf8).write(to: URL(fileURLWithPath: first))
        try Data(Self.text.utf8).write(to: URL(fileURLWithPath: second))
        try await run("gzip", ["-9", first, second])
        let joined = dir.file("joined.gz")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: first + ".gz"))
        bytes += try Data(contentsOf: URL(fileURLWithPath: second + ".gz"))
        // A third member written by zlib, and zero padding after it, as tape tools leave.
        try writeGzip("third\n", to: dir.file("c.gz"))
        bytes += try Data(contentsOf: URL(fileURLWithPath: dir.file("c.gz"))) + Data(count: 512)
        try bytes.write(to: URL(fileURLWithPath: joined))
        let source = try GzipSource(try FileByteSource(path: joined))
        #expect(try drain(source) == Array(("first member\n" + Self.text + "third\n").utf8))
        #expect(source.members == 3)
    }

    @Test func truncatedStreamIsAnErrorNamingTheOffset() throws {
        let dir = TempDir()
        let path = dir.file("t.csv.gz")
        try writeGzip(Self.text, to: path)
        let full = try Data(contentsOf: URL(fileURLWithPath: path))
        for cut in [full.count - 4, full.count / 2, 12] {
            try full.prefix(cut).write(to: URL(fileURLWithPath: path))
            do {
                _ = try drain(try InputFile.open(path: path).source)
                Issue.record("truncated at \(cut) read without error")
            } catch {
                #expect(error.code == .corruptCompressedData)
                #expect(error.byteOffset == Int64(cut))
                #expect(error.message.contains("truncated"), "\(error)")
            }
        }
    }

    @Test func corruptDataAndTrailingGarbageAreErrors() throws {
        let dir = TempDir()
        let path = dir.file("c.gz")
        try writeGzip(Self.text, to: path)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let good = bytes
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: FormatError.self) { try drain(try InputFile.open(path: path).source) }

        try Data(good + Array("garbage".utf8)).write(to: URL(fileURLWithPath: path))
        do {
            _ = try drain(try InputFile.open(path: path).source)
            Issue.record("trailing garbage accepted")
        } catch {
            #expect(error.byteOffset == Int64(good.count))
            #expect(error.description.contains("not gzip data"))
        }
    }

    @Test func readersParseThroughGzip() throws {
        let dir = TempDir()
        let path = dir.file("rows.csv.gz")
        try writeGzip("id,name\n" + (1...300).map { "\($0),name \($0)\n" }.joined(), to: path)
        let opened = try InputFile.open(path: path)
        let rows = try records(try RecordFormat.csv.reader(opened.source))
        #expect(rows.count == 300)
        #expect(rows[299].fields["name"] == "name 300")
    }
}

/// The scoped atomic file: in place when the body returns, gone when it throws.
@Suite("Atomic file")
struct AtomicFileTests {
    struct Boom: Error {}

    @Test func commitsOnReturnAndRemovesOnThrow() async throws {
        let dir = TempDir()
        let path = dir.path + "/out.txt"
        try await AtomicFile.with(path: path) { file in try file.sink.write(Array("ok\n".utf8)) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "ok\n")
        let other = dir.path + "/never.txt"
        await #expect(throws: Boom.self) {
            try await AtomicFile.with(path: other) { file in
                try file.sink.write(Array("partial".utf8))
                throw Boom()
            }
        }
        #expect(!FileManager.default.fileExists(atPath: other))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.txt"])
    }
}
