import SluiceJSON

/// The two error envelopes: Interactions' `{"error":{"code":"<string>","message":…}}` and
/// generateContent's google.rpc.Status `{"error":{"code":<int>,"message","status","details"}}`.
enum ErrorEnvelope {
    static func interactions(_ status: Int, code: String, message: String, headers: [(String, String)] = []) -> SimHTTPResponse {
        .json(status, ["error": ["code": .string(code), "message": .string(message)]], headers: headers)
    }

    static func rpc(_ status: Int, message: String, details: [JSONValue] = [], headers: [(String, String)] = []) -> SimHTTPResponse {
        var error: JSONObject = ["code": JSONValue(status), "message": .string(message), "status": .string(canonicalStatus(status))]
        if !details.isEmpty { error["details"] = .array(details) }
        return .json(status, ["error": .object(error)], headers: headers)
    }

    static func canonicalStatus(_ http: Int) -> String {
        switch http {
        case 400: "INVALID_ARGUMENT"
        case 401: "UNAUTHENTICATED"
        case 403: "PERMISSION_DENIED"
        case 404: "NOT_FOUND"
        case 409: "ABORTED"
        case 429: "RESOURCE_EXHAUSTED"
        case 499: "CANCELLED"
        case 500: "INTERNAL"
        case 501: "NOT_IMPLEMENTED"
        case 503: "UNAVAILABLE"
        case 504: "DEADLINE_EXCEEDED"
        default: "UNKNOWN"
        }
    }

    static func badRequest(field: String?, description: String) -> JSONValue {
        var violation = JSONObject()
        if let field { violation["field"] = .string(field) }
        violation["description"] = .string(description)
        return ["@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [.object(violation)]]
    }

    /// The `ErrorInfo` detail of an invalid API key.
    static let apiKeyInvalid: JSONValue = [
        "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com",
        "metadata": ["service": "generativelanguage.googleapis.com"],
    ]

    /// Seconds as a proto Duration string: `34s`, `0.25s`.
    static func duration(_ seconds: Double) -> String {
        let millis = Int((max(0, seconds) * 1000).rounded(.up))
        if millis % 1000 == 0 { return "\(millis / 1000)s" }
        var text = String(format: "%.3f", Double(millis) / 1000)
        while text.hasSuffix("0") { text.removeLast() }
        return text + "s"
    }

    /// The generateContent 429 for a per-minute or per-day quota: QuotaFailure, Help, RetryInfo.
    static func quota429(model: String, quotaID: String, metric: String, limit: Int, retryAfter: Double, headers: [(String, String)]) -> SimHTTPResponse {
        let message = "You exceeded your current quota, please check your plan and billing details. * Quota exceeded for metric: \(metric), limit: \(limit), model: \(model)\nPlease retry in \(String(format: "%.9f", retryAfter))s."
        let details: [JSONValue] = [
            [
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [[
                    "quotaMetric": .string(metric), "quotaId": .string(quotaID),
                    "quotaDimensions": ["location": "global", "model": .string(model)], "quotaValue": .string(String(limit)),
                ]],
            ],
            [
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [["description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"]],
            ],
            ["@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": .string(duration(retryAfter))],
        ]
        return rpc(429, message: message, details: details, headers: headers)
    }
}

import Foundation
