import SluiceJSON

/// What the transport carried: connections by protocol and HTTP/2 streams, so a test can prove
/// that thousands of requests shared a few multiplexed connections (as against the real endpoint)
/// rather than opening one socket each. Connections are named by an id the server hands out.
public struct TransportStats: Sendable, Equatable {
    public enum WireProtocol: String, Sendable {
        case http1 = "http/1.1"
        case h2
    }

    public var tls = false
    /// The `SETTINGS_MAX_CONCURRENT_STREAMS` the server advertises (0 without TLS: no HTTP/2).
    public var maxConcurrentStreams = 0
    public var connections = 0
    public var connectionsByProtocol: [String: Int] = [:]
    public var openConnections = 0
    public var peakOpenConnections = 0
    /// TLS handshakes that failed (an untrusted certificate, a client speaking plain HTTP).
    public var failedHandshakes = 0
    public var streams = 0
    public var openStreams = 0
    public var peakOpenStreams = 0
    /// Most streams open at once on any one connection.
    public var peakStreamsPerConnection = 0
    var streamsOpen: [Int: Int] = [:]
    var nextID = 0

    public init() {}

    /// An id for a connection just accepted (its streams may open before `opened` is called).
    mutating func newConnectionID() -> Int {
        nextID += 1
        return nextID
    }

    /// Counts a connection whose protocol is settled.
    mutating func opened(_ proto: WireProtocol) {
        connections += 1
        connectionsByProtocol[proto.rawValue, default: 0] += 1
        openConnections += 1
        peakOpenConnections = max(peakOpenConnections, openConnections)
    }

    mutating func closed(connection id: Int) {
        openConnections -= 1
        openStreams -= streamsOpen.removeValue(forKey: id) ?? 0
    }

    mutating func streamOpened(on id: Int) {
        streams += 1
        openStreams += 1
        peakOpenStreams = max(peakOpenStreams, openStreams)
        let open = streamsOpen[id, default: 0] + 1
        streamsOpen[id] = open
        peakStreamsPerConnection = max(peakStreamsPerConnection, open)
    }

    mutating func streamClosed(on id: Int) {
        guard let open = streamsOpen[id], open > 0 else { return }
        streamsOpen[id] = open - 1
        openStreams -= 1
    }

    /// Forgets the counts, keeps what is open now (it is still open).
    mutating func reset() {
        connections = 0
        connectionsByProtocol = [:]
        peakOpenConnections = openConnections
        failedHandshakes = 0
        streams = 0
        peakOpenStreams = openStreams
        peakStreamsPerConnection = streamsOpen.values.max() ?? 0
    }

    var json: JSONValue {
        var byProtocol = JSONObject()
        for key in connectionsByProtocol.keys.sorted() { byProtocol.append(key, JSONValue(connectionsByProtocol[key]!)) }
        return [
            "tls": .bool(tls), "max_concurrent_streams": JSONValue(maxConcurrentStreams),
            "connections": JSONValue(connections), "connections_by_protocol": .object(byProtocol),
            "open_connections": JSONValue(openConnections), "peak_open_connections": JSONValue(peakOpenConnections),
            "failed_handshakes": JSONValue(failedHandshakes),
            "streams": JSONValue(streams), "open_streams": JSONValue(openStreams), "peak_open_streams": JSONValue(peakOpenStreams),
            "peak_streams_per_connection": JSONValue(peakStreamsPerConnection),
        ]
    }
}
