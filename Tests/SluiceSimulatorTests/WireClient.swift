import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SluiceJSON
import SluiceSimulator

/// Minimal loopback client for wire-level assertions: raw status, headers and parsed JSON.
struct WireResponse {
    var status: Int
    var headers: [String: String]
    var text: String
    var json: JSONValue { (try? JSONParser.parse(text)) ?? .null }

    /// The body without the fields that change on every call.
    var stableJSON: JSONValue {
        guard case .object(var o) = json else { return json }
        for key in ["id", "created", "updated", "responseId"] { o[key] = nil }
        if case .array(var steps)? = o["steps"] {
            for i in steps.indices {
                if case .object(var s) = steps[i], s["type"] == "thought" { s["signature"] = nil; steps[i] = .object(s) }
            }
            o["steps"] = .array(steps)
        }
        return .object(o)
    }
}

enum Wire {
    static func send(_ url: String, method: HTTPMethod = .POST, body: String? = nil, headers: [String: String] = ["x-goog-api-key": "sim-test-key"]) async throws -> WireResponse {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "content-type", value: "application/json")
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let buffer = try await response.body.collect(upTo: 16 << 20)
        var h: [String: String] = [:]
        for (name, value) in response.headers { h[name.lowercased()] = value }
        return WireResponse(status: Int(response.status.code), headers: h, text: String(buffer: buffer))
    }

    static func json(_ text: String) -> JSONValue { try! JSONParser.parse(text) }
}

extension SimulatorConfiguration {
    /// No latency at all: for wire-format tests.
    static var instant: SimulatorConfiguration {
        var c = SimulatorConfiguration()
        c.timeScale = 0
        return c
    }
}
