import SluiceJSON

/// A request as the simulator's transport hands it over: already fully read.
public struct SimHTTPRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [String: String]
    /// Header names lowercased.
    public var headers: [String: String]
    public var body: [UInt8]

    public init(method: String, path: String, query: [String: String] = [:], headers: [String: String] = [:], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { _, last in last })
        self.body = body
    }

    /// Splits `/path?a=b&c=d` into path and decoded query.
    public static func splitTarget(_ uri: String) -> (path: String, query: [String: String]) {
        guard let q = uri.firstIndex(of: "?") else { return (uri, [:]) }
        var query: [String: String] = [:]
        for pair in uri[uri.index(after: q)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            let name = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            let value = parts.count > 1 ? (String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "") : ""
            query[name] = value
        }
        return (String(uri[..<q]), query)
    }
}

/// A response plus how the transport should deliver it (faults live at this level).
public struct SimHTTPResponse: Sendable {
    public enum Delivery: Sendable, Equatable {
        case normal
        /// Close the connection without sending anything.
        case drop
        /// Promise the full body in `Content-Length`, send half of it, close.
        case truncate
        /// Wait this many seconds before the first byte.
        case slowFirstByte(Double)
    }

    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
    public var delivery: Delivery = .normal

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8], delivery: Delivery = .normal) {
        self.status = status
        self.headers = headers
        self.body = body
        self.delivery = delivery
    }

    public static func json(_ status: Int, _ value: JSONValue, headers: [(String, String)] = []) -> SimHTTPResponse {
        SimHTTPResponse(status: status, headers: [("Content-Type", "application/json; charset=UTF-8")] + headers, body: JSONWriter.bytes(value))
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

import Foundation
