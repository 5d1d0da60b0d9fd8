import AsyncHTTPClient
import Synchronization

/// Several AsyncHTTPClient pools side by side, each carrying at most `perLane` requests at once;
/// a request takes the least busy lane, and a lane is opened when all are full.
///
/// Why: over HTTP/2 one pool keeps one connection and queues every request beyond the server's
/// `SETTINGS_MAX_CONCURRENT_STREAMS` (100 at common front ends) — a Flex job that needs 5,000
/// requests in flight would get 100. Over HTTP/1.1 one pool of 10,000 connections spends its
/// time in bookkeeping that grows with the pool (see Benchmarks/README.md, transport). Lanes of
/// 100 give both protocols what they need: HTTP/2 opens one connection per 100 requests in
/// flight, HTTP/1.1 keeps each pool small.
public final class HTTPLanes: Sendable {
    /// Requests one lane carries at once.
    public let perLane: Int
    /// The `SETTINGS_MAX_CONCURRENT_STREAMS` of common front ends (and the least RFC 9113
    /// recommends): one HTTP/2 connection's worth.
    public static let defaultPerLane = 100
    /// Most lanes opened (`ceil(concurrency / perLane)`).
    public let maxLanes: Int
    let configuration: HTTPClient.Configuration
    private let state = Mutex(State())

    struct State {
        var lanes: [HTTPClient] = []
        var inFlight: [Int] = []
    }

    /// `configuration`'s HTTP/1.1 pool limit is set to `perLane`.
    public init(configuration: HTTPClient.Configuration, concurrency: Int, perLane: Int = defaultPerLane) {
        var configuration = configuration
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = perLane
        self.configuration = configuration
        self.perLane = perLane
        maxLanes = max(1, (concurrency + perLane - 1) / perLane)
    }

    /// A lane for one request; hand its index back to `release` when the request is over.
    public func lease() -> (index: Int, client: HTTPClient) {
        state.withLock { state in
            var best = -1
            for (i, n) in state.inFlight.enumerated() where best < 0 || n < state.inFlight[best] { best = i }
            if best < 0 || (state.inFlight[best] >= perLane && state.lanes.count < maxLanes) {
                state.lanes.append(HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration))
                state.inFlight.append(0)
                best = state.lanes.count - 1
            }
            state.inFlight[best] += 1
            return (best, state.lanes[best])
        }
    }

    public func release(_ index: Int) {
        state.withLock { $0.inFlight[index] -= 1 }
    }

    /// Lanes open now (for tests and the run summary).
    public var laneCount: Int { state.withLock { $0.lanes.count } }

    /// Shuts every lane down; no lease may follow.
    public func shutdown() async {
        let lanes = state.withLock { $0.lanes }
        for lane in lanes { try? await lane.shutdown() }
    }
}
