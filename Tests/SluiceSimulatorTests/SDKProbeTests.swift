import Foundation
import SluiceJSON
import SluiceSimulator
import SluiceTestSupport
import Testing

/// Google's official Python SDK (google-genai) against the simulator: proof that it speaks the
/// real wire format, not only our reading of it. `.ci/run` installs the SDK.
@Suite("Official SDK probe")
struct SDKProbeTests {
    static let probe = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/tools/sdk_probe.py").standardized.path

    /// `caFile`: the simulator serves TLS; the SDK's httpx trusts the file by `SSL_CERT_FILE`.
    static func run(_ baseURL: String, _ extra: [String] = [], caFile: String? = nil) async throws -> [JSONValue] {
        let environment = caFile.map { ProcessInfo.processInfo.environment.merging(["SSL_CERT_FILE": $0]) { $1 } }
        let result = try await Subprocess.run(["python3", probe, "--base-url", baseURL, "--timeout", "30"] + extra, environment: environment)
        return result.stdout.split(separator: "\n").compactMap { try? JSONParser.parse(String($0)) }
    }

    /// Over cleartext HTTP/1.1, and over TLS as the real endpoint is served (the SDK's httpx
    /// offers only HTTP/1.1 by ALPN, so this is the simulator's HTTPS/1.1 path).
    @Test(arguments: [false, true])
    func everyCasePasses(tls: Bool) async throws {
        try #require(FileManager.default.fileExists(atPath: Self.probe), "sdk_probe.py not found at \(Self.probe)")
        var config = SimulatorConfiguration.instant
        config.timeScale = 0.0005
        let identity = tls ? try await SimulatorTLS.generate() : nil
        let caFile = identity.map { _ in NSTemporaryDirectory() + "sdk-probe-ca-\(UUID().uuidString).pem" }
        defer { caFile.map { try? FileManager.default.removeItem(atPath: $0) } }
        if let identity, let caFile { try identity.writeCA(to: caFile) }
        try await SimulatorServer.withRunning(config, tls: identity) { sim in
            let lines = try await Self.run(sim.baseURL, caFile: caFile)
            try #require(!lines.isEmpty, "the probe printed nothing: is google-genai installed? (pip install google-genai)")
            var ok: [String: Bool] = [:]
            for line in lines { ok[line["case"]?.stringValue ?? "?"] = line["ok"]?.boolValue }
            for name in ["ix_text_flex", "ix_json_flex", "ix_steps_input", "ix_stream", "gc_text_flex", "gc_json", "count_tokens"] {
                #expect(ok[name] == true, "case \(name): \(lines.first { $0["case"]?.stringValue == name } ?? .null)")
            }
            let ixJSON = lines.first { $0["case"] == "ix_json_flex" }
            #expect(ixJSON?["result"]?["parsed_json"]?["name"]?.stringValue != nil)
            #expect(ixJSON?["result"]?["service_tier"] == "flex")
            let gc = lines.first { $0["case"] == "gc_text_flex" }
            #expect(gc?["result"]?["headers"]?["x-gemini-service-tier"] == "flex")
            #expect(gc?["result"]?["text"]?.stringValue == AnswerGenerator.text(for: "Say hello in exactly three words."))
            if tls {
                let t = sim.simulator.transportStats()
                #expect(t.tls && t.connectionsByProtocol["http/1.1", default: 0] >= 1 && t.failedHandshakes == 0, "\(t)")
            }
        }
    }

    @Test(arguments: [
        ("429", "google.genai._interactions_errors.RateLimitError", "google.genai.errors.ClientError"),
        ("503", "google.genai._interactions_errors.InternalServerError", "google.genai.errors.ServerError"),
    ])
    func injectedFaultsRaiseTheSDKsErrorClasses(fault: String, ixType: String, gcType: String) async throws {
        try await SimulatorServer.withRunning(.instant) { sim in
            let lines = try await Self.run(sim.baseURL, ["--cases", "ix_text_flex,gc_text_flex", "--header", "X-Sim-Fault: \(fault)"])
            try #require(lines.count == 2, "the probe printed \(lines.count) lines: is google-genai installed?")
            #expect(lines[0]["ok"] == false)
            #expect(lines[0]["error"]?["type"]?.stringValue == ixType)
            #expect(lines[0]["error"]?["status_code"]?.intValue == Int(fault))
            #expect(lines[1]["error"]?["type"]?.stringValue == gcType)
            #expect(lines[1]["error"]?["code"]?.intValue == Int(fault))
            if fault == "429" {
                // No quota configured: a busy 429 with RetryInfo only (no QuotaFailure to pace at).
                let details = lines[1]["error"]?["body"]?["error"]?["details"]
                #expect(details?[0]?["retryDelay"] == "1s" && details?.arrayValue?.count == 1, "\(details ?? .null)")
            }
        }
    }
}
