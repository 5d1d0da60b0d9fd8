import Foundation
import SluiceJSON
import Testing

/// nst/JSONTestSuite: `y_` accepted, `n_` rejected, `i_` either way but never a crash or hang.
@Suite("JSONTestSuite conformance")
struct JSONTestSuiteTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../shared/conformance/JSONTestSuite/test_parsing").standardized

    static func files(_ prefix: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasPrefix(prefix) }.sorted()
    }

    static func parses(_ name: String) -> Bool {
        let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) ?? Data()
        return (try? JSONParser.parse(data)) != nil
    }

    @Test func corpusIsPresent() {
        #expect(Self.files("y_").count > 90)
        #expect(Self.files("n_").count > 180)
    }

    @Test func acceptsEveryYFile() {
        let rejected = Self.files("y_").filter { !Self.parses($0) }
        #expect(rejected.isEmpty, "rejected: \(rejected)")
    }

    @Test func rejectsEveryNFile() {
        let accepted = Self.files("n_").filter { Self.parses($0) }
        #expect(accepted.isEmpty, "accepted: \(accepted)")
    }

    @Test func survivesEveryIFile() {
        for name in Self.files("i_") { _ = Self.parses(name) }
    }
}

@Suite("JSON values")
struct JSONValueTests {
    @Test func roundTripKeepsKeyOrderAndNumberSpelling() throws {
        let text = #"{"z":1,"a":[1.50,-0,1e400,12345678901234567890123],"m":{"k":"v\n\u00e9\"","b":true,"n":null}}"#
        let value = try JSONParser.parse(text)
        #expect(value.objectValue?.keys == ["z", "a", "m"])
        #expect(JSONWriter.string(value) == #"{"z":1,"a":[1.50,-0,1e400,12345678901234567890123],"m":{"k":"v\né\"","b":true,"n":null}}"#)
    }

    @Test func errorsCarryTheByteOffset() {
        #expect(throws: JSONParseError("expected ',' or ']' in array", offset: 3)) { try JSONParser.parse("[1 2]") }
        #expect(throws: JSONParseError("unexpected character", offset: 3)) { try JSONParser.parse("[1,]") }
    }

    @Test func deepNestingIsRefusedNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        let ok = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect((try? JSONParser.parse(ok)) != nil)
    }

    @Test func surrogatePairsDecode() throws {
        #expect(try JSONParser.parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try JSONParser.parse(#""\ud800x""#) == .string("\u{FFFD}x"))
    }
}
