import Foundation
import SluiceTestSupport
import Testing

/// Issue 10's conformance check as a property test: files written by Python's csv, json and
/// xml.etree writers (random dialects, encodings, shapes; one seed per case) go through the built
/// binary, and what it read and wrote is compared with Python's reading of the same file. A fixed
/// number of cases (the time bound is only a backstop); the script's header has the longer recipe.
@Suite("Python conformance")
struct PythonConformanceTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Conformance/python_roundtrip.py").standardized.path

    @Test func pythonWrittenFilesReadAndWriteBackAsPythonReadsThem() async throws {
        let cases = ProcessInfo.processInfo.environment["SLUICE_CONFORMANCE_CASES"] ?? "150"
        let result = try await Subprocess.run(["python3", Self.script, "--sluice", SluiceProcess.binary, "--cases", cases, "--seconds", "900"])
        let output = result.stdout + result.stderr
        #expect(result.status == 0, "\(output.suffix(6000))")
        // The summary proves cases of every format ran (a script that ran nothing cannot pass).
        let summary = output.split(separator: "\n").first { $0.hasPrefix("conformance: ") && $0.contains("read and written exactly") } ?? ""
        for format in ["csv", "jsonl", "xml"] {
            let count = summary.firstRange(of: "\(format) ").map { Int(summary[$0.upperBound...].prefix { $0.isNumber }) ?? 0 } ?? 0
            #expect(count >= 25, "too few \(format) cases: \(summary)")
        }
        print(output.split(separator: "\n").filter { $0.hasPrefix("conformance: ") }.joined(separator: "\n"))
    }
}
