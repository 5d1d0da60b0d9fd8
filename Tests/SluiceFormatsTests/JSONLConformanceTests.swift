import Foundation
import SluiceFormats
import SluiceJSON
import Testing

/// nst/JSONTestSuite through the JSON Lines reader, each file as one line followed by a good one:
/// a `y_` object is a record equal to the parser's value, a `y_` non-object and every `n_` file
/// are bad records the reader moves past, and nothing crashes or hangs. Files holding a raw line
/// break are not one line and are left to the parser's own conformance test; `n_` files that are
/// only whitespace or a byte order mark are blank lines in JSON Lines, skipped by design.
@Suite("JSON Lines conformance")
struct JSONLConformanceTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../shared/conformance/JSONTestSuite/test_parsing").standardized

    static func lines(_ prefix: String) -> [(String, [UInt8])] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasPrefix(prefix) }.sorted()
        return names.compactMap { name in
            let bytes = [UInt8](FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) ?? Data())
            guard !bytes.contains(0x0A), !bytes.contains(0x0D) else { return nil }
            let blank = bytes.drop { $0 == 0xEF || $0 == 0xBB || $0 == 0xBF }.allSatisfy { $0 == 0x20 || $0 == 0x09 }
            return blank ? nil : (name, bytes)
        }
    }

    /// The entries the reader gives for `line` followed by `{"next":1}`.
    static func read(_ line: [UInt8]) -> (first: Result<Record, FormatError>, second: Record?) {
        let reader = JSONLReader(MemorySource(bytes: line + Array("\n{\"next\":1}\n".utf8), name: "t.jsonl", chunk: 4096))
        let first: Result<Record, FormatError>
        do {
            guard let record = try reader.next() else { return (.failure(FormatError(.io, "no record", file: "t.jsonl")), nil) }
            first = .success(record)
        } catch {
            first = .failure(error)
        }
        return (first, try? reader.next())
    }

    @Test func yFilesAreRecordsOrNonObjectBadRecords() throws {
        let files = Self.lines("y_")
        #expect(files.count > 80)
        for (name, bytes) in files {
            let expected = try JSONParser.parse(bytes)
            let (first, second) = Self.read(bytes)
            switch (first, expected) {
            case (.success(let record), .object(let object)):
                #expect(record.fields == object, "\(name)")
            case (.failure(let error), _):
                #expect(expected.objectValue == nil && error.code == .notAnObject, "\(name): \(error)")
            case (.success, _):
                Issue.record("\(name): a non-object line became a record")
            }
            #expect(second?.fields == ["next": .number("1")], "\(name): the reader did not move past the line")
        }
    }

    @Test func nFilesAreBadRecordsAndReadingGoesOn() {
        let files = Self.lines("n_")
        #expect(files.count > 150)
        for (name, bytes) in files {
            let (first, second) = Self.read(bytes)
            if case .success = first { Issue.record("\(name) accepted") }
            if case .failure(let error) = first { #expect(error.isRecordLevel, "\(name): \(error)") }
            #expect(second?.fields == ["next": .number("1")], "\(name): the reader did not move past the line")
        }
    }
}
