import Foundation
import SluiceFormats
import Testing

/// Files built to break readers, each run through `sluice run --dry-run` under `/usr/bin/time`:
/// no crash, no hang (60 s bound), peak memory bounded, the documented exit code, and for bad
/// input a message naming the file, the record and its offset.
@Suite("hostile input corpus")
struct HostileInputTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var file: String
        var status: Int32
        /// Fragments the error output must contain.
        var messages: [String]
        var extra: [String] = []
        var testDescription: String { file }
    }

    /// Writes `count` bytes of `byte` in chunks.
    static func append(_ handle: FileHandle, byte: UInt8, count: Int) {
        let chunk = Data(repeating: byte, count: 1 << 20)
        var left = count
        while left > 0 {
            let n = min(left, chunk.count)
            handle.write(chunk.prefix(n))
            left -= n
        }
    }

    /// Creates the corpus in `dir` (some files are large: they are made here, not committed).
    static func build(_ dir: String) throws {
        func write(_ name: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: "\(dir)/\(name)")) }
        func write(_ name: String, _ text: String) throws { try write(name, Array(text.utf8)) }
        try write("unterminated.csv", "a,b\n1,\"x\n2,3\n")
        FileManager.default.createFile(atPath: "\(dir)/huge-field.csv", contents: Data("a,b\n".utf8))
        let huge = try #require(FileHandle(forWritingAtPath: "\(dir)/huge-field.csv"))
        huge.seekToEndOfFile()
        append(huge, byte: UInt8(ascii: "x"), count: 100 << 20)
        huge.write(Data(",1\n".utf8))
        try huge.close()
        try write("million-columns.csv", (1...1_000_000).map { "c\($0)" }.joined(separator: ",") + "\n1\n")
        try write("invalid-utf8.csv", Array("a\nok\n".utf8) + [0xFF, 0xFE, 0x0A])
        try write("nul-bytes.csv", Array("a\nx".utf8) + [0] + Array("y\n".utf8))
        try write("bom-in-middle.csv", "a,b\n1,\u{FEFF}x\n")
        try write("mixed-line-endings.csv", "a,b\r\n1,2\n3,4\r5,6\r\n")
        try write("deep.jsonl", String(repeating: "{\"a\":", count: 100_000) + "1" + String(repeating: "}", count: 100_000) + "\n")
        try write("huge-numbers.jsonl", "{\"n\":1e999999,\"m\":\(String(repeating: "9", count: 10_000))}\n")
        try write("duplicate-keys.jsonl", "{\"a\":\"first\",\"a\":\"second\"}\n")
        let lol = (2...9).map { i in "<!ENTITY lol\(i) \"" + String(repeating: "&lol\(i - 1);", count: 10) + "\">" }.joined(separator: "\n")
        try write("billion-laughs.xml", "<?xml version=\"1.0\"?>\n<!DOCTYPE r [\n<!ENTITY lol1 \"lol\">\n\(lol)\n]>\n<r><i><v>&lol9;</v></i></r>\n")
        try write("secret.txt", "TOP-SECRET-CONTENT")
        try write("xxe.xml", "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM \"file://\(dir)/secret.txt\">]>\n<r><i><v>&x;</v></i></r>\n")
        try write("leak.dtd", "<!ATTLIST i leak CDATA \"LEAKED-BY-DTD\">\n")
        try write("external-dtd.xml", "<?xml version=\"1.0\"?>\n<!DOCTYPE r SYSTEM \"file://\(dir)/leak.dtd\">\n<r><i><v>1</v></i><i><v>2</v></i></r>\n")
        // gzip: one cut short, one that inflates 1000-fold (256 MB of zeros after a header).
        let good = AtomicFileBox(path: "\(dir)/whole.csv.gz")
        try good.write(Array(("a\n" + (1...20_000).map { "row \($0)\n" }.joined()).utf8))
        let whole = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/whole.csv.gz"))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: "\(dir)/truncated.csv.gz"))
        let bomb = try AtomicFile(path: "\(dir)/bomb.csv.gz")
        try bomb.sink.compress(level: 9)
        try bomb.sink.write(Array("a\n".utf8))
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        for _ in 0..<256 { try bomb.sink.write(zeros) }
        try bomb.commit()
        try write("empty.csv", "")
        try write("header-only.csv", "a,b\n")
    }

    static let cases: [Case] = [
        Case(file: "unterminated.csv", status: 65, messages: ["unterminated.csv: record 1 (line 2, byte 4)", "never closed"]),
        Case(file: "huge-field.csv", status: 65, messages: ["huge-field.csv: record 1 (line 2, byte 4)", "larger than 1048576 bytes"]),
        Case(file: "million-columns.csv", status: 65, messages: ["million-columns.csv: line 1, byte 0", "1000000 columns"]),
        Case(file: "invalid-utf8.csv", status: 65, messages: ["invalid-utf8.csv: record 2 (line 3, byte 5)", "not valid UTF-8"]),
        Case(file: "nul-bytes.csv", status: 65, messages: ["nul-bytes.csv: record 1 (line 2, byte 2)", "NUL byte"]),
        Case(file: "bom-in-middle.csv", status: 0, messages: [": 1 records"]),
        Case(file: "mixed-line-endings.csv", status: 0, messages: [": 3 records"]),
        Case(file: "deep.jsonl", status: 65, messages: ["deep.jsonl: record 1 (line 1, byte 0)", "nesting deeper than 512 levels"]),
        Case(file: "huge-numbers.jsonl", status: 0, messages: [": 1 records"]),
        Case(file: "duplicate-keys.jsonl", status: 0, messages: [": 1 records"]),
        Case(file: "billion-laughs.xml", status: 65, messages: ["billion-laughs.xml: line 3, byte", "declares entities"]),
        Case(file: "billion-laughs.xml", status: 65, messages: ["billion-laughs.xml", "malformed XML", "entity"], extra: ["--xml-entities"]),
        Case(file: "xxe.xml", status: 65, messages: ["xxe.xml: line 2, byte", "declares entities"]),
        Case(file: "external-dtd.xml", status: 0, messages: [": 2 records"]),
        Case(file: "truncated.csv.gz", status: 65, messages: ["truncated.csv.gz: byte", "truncated"]),
        Case(file: "bomb.csv.gz", status: 65, messages: ["bomb.csv.gz: record 1 (line 2, byte 2)"]),
        Case(file: "empty.csv", status: 0, messages: [": 0 records"]),
        Case(file: "header-only.csv", status: 0, messages: [": 0 records"]),
    ]

    @Test func everyHostileFileEndsCleanlyWithItsDocumentedExit() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        try Self.build(dir.path)
        let template = try dir.write("t.md", "Record {{_record}}")
        for c in Self.cases {
            let out = "\(dir.path)/out-\(c.file).jsonl"
            let rss = "\(dir.path)/rss-\(c.file).txt"
            let args = ["run", "\(dir.path)/\(c.file)", "-t", template, "--dry-run", "-o", out] + c.extra
            let process = try SluiceProcess(args, measureMemoryTo: rss)
            let killer = Task {
                try await Task.sleep(for: .seconds(60))
                process.kill()
            }
            let result = await process.wait()
            killer.cancel()
            #expect(result.status == c.status, "\(c.file) \(c.extra): exit \(result.status)\n\(result.stderr.suffix(1500))")
            for message in c.messages {
                #expect(result.stderr.contains(message), "\(c.file) \(c.extra): no '\(message)' in\n\(result.stderr.suffix(1500))")
            }
            #expect(!result.stderr.contains("Fatal error"), "\(c.file) crashed")
            let peakKB = Int((try? String(contentsOfFile: rss, encoding: .utf8))?.split(separator: "\n").last.map(String.init) ?? "") ?? -1
            #expect(peakKB > 0 && peakKB < 300 * 1024, "\(c.file): peak RSS \(peakKB) KB")
            let written = (try? Data(contentsOf: URL(fileURLWithPath: out))) ?? Data()
            for secret in ["TOP-SECRET-CONTENT", "LEAKED-BY-DTD"] {
                #expect(written.range(of: Data(secret.utf8)) == nil, "\(c.file): \(secret) leaked into the output")
                #expect(!result.stderr.contains(secret))
            }
        }
        // Huge numbers keep their spelling, duplicate keys their order.
        let numbers = dir.read("out-huge-numbers.jsonl.jsonl")
        #expect(numbers.hasPrefix("{\"n\":1e999999,\"m\":\(String(repeating: "9", count: 10_000)),\"sluice_prompt\":\"Record 1\"}"))
        #expect(dir.read("out-duplicate-keys.jsonl.jsonl").hasPrefix("{\"a\":\"first\",\"a\":\"second\","))
    }
}

/// A gzip file written through the production sink (zlib), for fixtures.
struct AtomicFileBox {
    let path: String
    func write(_ bytes: [UInt8]) throws {
        let file = try AtomicFile(path: path)
        try file.sink.compress(level: 6)
        try file.sink.write(bytes)
        try file.commit()
    }
}
