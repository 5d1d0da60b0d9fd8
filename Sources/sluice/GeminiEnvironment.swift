import Foundation
import SluiceEngine
import SluiceGemini
import SluiceModel

/// Where every command finds the Gemini key, endpoint and trusted roots: flags over the
/// environment over defaults (an empty variable counts as unset).
enum GeminiEnvironment {
    static let missingKey = "no API key: set GEMINI_API_KEY (or GOOGLE_API_KEY)"

    /// GEMINI_API_KEY, else GOOGLE_API_KEY.
    static func apiKey(_ env: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        value(env["GEMINI_API_KEY"]) ?? value(env["GOOGLE_API_KEY"])
    }

    /// The client's configuration: `--endpoint`, else GOOGLE_GEMINI_BASE_URL, else the public
    /// host; `--ca-file` and SSL_CERT_FILE trusted. A trusted-root file without a certificate is
    /// a usage error naming it, before any request.
    static func configuration(endpoint: String?, caFile: [String], apiKey: String, api: GeminiAPI,
                              _ env: [String: String] = ProcessInfo.processInfo.environment) throws(EngineError) -> GeminiClient.Configuration {
        var c = GeminiClient.Configuration(baseURL: endpoint ?? value(env["GOOGLE_GEMINI_BASE_URL"]) ?? ModelOptions.defaultEndpoint, apiKey: apiKey, api: api)
        c.extraTrustRoots = caFile + (value(env["SSL_CERT_FILE"]).map { [$0] } ?? [])
        do {
            _ = try GeminiClient.httpConfiguration(extraTrustRoots: c.extraTrustRoots)
        } catch let error as ModelError {
            throw EngineError(.usage, error.message)
        } catch {
            throw EngineError(.usage, "\(error)")
        }
        return c
    }

    static func value(_ text: String?) -> String? { text.flatMap { $0.isEmpty ? nil : $0 } }
}
