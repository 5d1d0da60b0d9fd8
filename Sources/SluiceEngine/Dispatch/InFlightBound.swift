/// How many requests may be in flight: the capacity controller's limit, bounded by Little's law
/// for the paced rate (rate × mean latency × headroom: enough to keep the pace at Flex's
/// minutes-long latencies, no more), by the memory budget and by the job's ceiling. The
/// ceiling and the memory budget also bound the records in process (in flight or in backoff).
public struct InFlightBound: Sendable, Equatable {
    /// Most records in process (`--concurrency`, or what the open-file limit allows).
    public var ceiling: Int
    /// Bytes the records in process may take.
    public var memoryBudget: Int
    /// In flight above rate × latency: latencies vary by minutes from one request to the next.
    public var headroom = 1.5
    /// What one record in process costs besides its prompt, on the production transport: over
    /// TLS + HTTP/2, 33–36 KB each at 10,000 and 20,000 in flight (over HTTP/1.1, 27–30 KB; the
    /// streams' buffers cost more than a socket's). Benchmarks/README.md, "Requests in flight".
    public static let bytesPerRecord = 36_000

    /// Mean seconds from send to answer, once an answer came.
    public private(set) var latency: Double?
    private var latencySamples = 0
    private var promptBytes = 0.0
    private var promptSamples = 0

    public init(ceiling: Int, memoryBudget: Int) {
        self.ceiling = max(1, ceiling)
        self.memoryBudget = memoryBudget
    }

    public mutating func answered(latency seconds: Double) {
        latencySamples += 1
        let mean = latency ?? seconds
        latency = mean + (seconds - mean) / Double(min(latencySamples, 500))
    }

    public mutating func prompt(bytes: Int) {
        promptSamples += 1
        promptBytes += (Double(bytes) - promptBytes) / Double(min(promptSamples, 1000))
    }

    /// Records the memory budget holds: each costs the fixed part and its prompt about three
    /// times (the rendered string, the request body, the journal's copy).
    public var memoryCap: Int { max(1, memoryBudget / (Self.bytesPerRecord + 3 * Int(promptBytes))) }

    /// Most records in process.
    public var recordCap: Int { min(ceiling, memoryCap) }

    /// The in-flight limit for a capacity limit and a paced rate (requests per second).
    public func limit(capacity: Int, rate: Double?) -> Int {
        var l = min(recordCap, capacity)
        if let rate, let latency { l = min(l, Int((rate * latency * headroom).rounded(.up)) + 8) }
        return max(1, l)
    }
}
