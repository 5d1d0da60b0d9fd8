import Foundation
import SluiceFuzz
import Testing

/// Replays what the fuzzers found (`Fuzz/Crashes/<target>/`) and their seed corpora through the
/// same targets, in the debug build with every runtime check on: a crash fixed once stays fixed,
/// and the targets' round-trip invariants hold on every seed. (The fuzzing itself is
/// `bash Fuzz/fuzz.sh`, which the test command runs for a bounded time.)
@Suite struct FuzzRegressionTests {
    static let fuzzFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fuzz").standardized

    static func inputs(_ folder: String, _ target: FuzzTarget) -> [URL] {
        let dir = fuzzFolder.appendingPathComponent(folder).appendingPathComponent(target.rawValue)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { dir.appendingPathComponent($0) }
    }

    @Test(arguments: FuzzTarget.allCases)
    func crashesStayFixed(_ target: FuzzTarget) throws {
        for file in Self.inputs("Crashes", target) {
            target.run(Array(try Data(contentsOf: file)))
        }
    }

    @Test(arguments: FuzzTarget.allCases)
    func seedsKeepTheInvariants(_ target: FuzzTarget) throws {
        let seeds = Self.inputs("Corpus", target)
        #expect(seeds.count >= 10, "Fuzz/Corpus/\(target.rawValue) has \(seeds.count) seeds")
        var reading = 0
        for file in seeds where target.run(Array(try Data(contentsOf: file))) > 0 { reading += 1 }
        // Most seeds are real files that read (the JSON Lines ones include JSONTestSuite's
        // non-objects, which must not): if few read, the targets test nothing.
        #expect(reading * 2 >= seeds.count, "\(target.rawValue): \(reading) of \(seeds.count) seeds read any record")
    }
}
