import Foundation

/// Answer latencies in bounded memory: log-spaced buckets 1 % wide from 1 ms to ~4 months
/// (2,320 counters, whatever the record count), so a ten-million-record run reports its
/// percentiles from 9 KB instead of an 80 MB array. A percentile is exact to within 1 %; the
/// minimum and maximum are exact.
public struct LatencyHistogram: Sendable, Equatable {
    static let smallest = 0.001
    static let growth = 1.01
    static let bucketCount = 2_320

    private var counts: [UInt32]
    public private(set) var count = 0
    public private(set) var minimum = Double.infinity
    public private(set) var maximum = 0.0

    public init() { counts = Array(repeating: 0, count: Self.bucketCount) }

    public mutating func record(_ seconds: Double) {
        let value = max(0, seconds)
        counts[Self.bucket(value)] &+= 1
        count += 1
        minimum = min(minimum, value)
        maximum = max(maximum, value)
    }

    static func bucket(_ value: Double) -> Int {
        guard value > smallest else { return 0 }
        return min(bucketCount - 1, 1 + Int(log(value / smallest) / log(growth)))
    }

    /// The value at fraction `p` of the sorted latencies (the sample at index ⌊count·p⌋, as a
    /// sorted array would give), or nil when nothing was recorded. `p` of 1 is the maximum.
    public func percentile(_ p: Double) -> Double? {
        guard count > 0 else { return nil }
        let rank = min(count - 1, Int(Double(count) * p))
        if rank == count - 1 { return maximum }
        if rank == 0 { return minimum }
        var seen = 0
        for (index, n) in counts.enumerated() where n > 0 {
            seen += Int(n)
            if seen > rank {
                // The bucket's geometric middle, within what was seen.
                let low = index == 0 ? 0 : Self.smallest * pow(Self.growth, Double(index - 1))
                let high = index == 0 ? Self.smallest : low * Self.growth
                let middle = index == 0 ? high / 2 : (low * high).squareRoot()
                return Swift.min(maximum, Swift.max(minimum, middle))
            }
        }
        return maximum
    }
}
