import Foundation
import SluiceEngine
import SluiceTestSupport
import Testing

/// The bounded latency record behind the summary's and report's percentiles.
@Suite("Latency histogram")
struct LatencyHistogramTests {
    /// Against the exact percentiles of a sorted array (what the report used to compute), on
    /// Flex-like spreads: within the 1 % bucket width; min and max exact.
    @Test(arguments: [1, 2, 7, 100, 5_000, 200_000])
    func percentilesMatchTheSortedSamplesWithinOnePercent(samples: Int) {
        var rng = SeededRandom(seed: UInt64(samples))
        var histogram = LatencyHistogram()
        var values: [Double] = []
        for _ in 0..<samples {
            // Log-uniform from 20 ms to 900 s, with a few exact zeros and huge outliers.
            let roll = rng.unit()
            let v = roll < 0.01 ? 0 : roll > 0.995 ? 200_000 * rng.unit() : 0.02 * pow(45_000, rng.unit())
            values.append(v)
            histogram.record(v)
        }
        let sorted = values.sorted()
        #expect(histogram.count == samples)
        for p in [0.0, 0.01, 0.5, 0.9, 0.99, 0.999, 1.0] {
            let exact = sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
            let got = histogram.percentile(p)!
            #expect(abs(got - exact) <= exact * 0.0101 + 0.0005, "p\(p) of \(samples): \(got) vs \(exact)")
        }
        #expect(histogram.percentile(1.0) == sorted.last)
        #expect(histogram.percentile(0.0) == sorted.first)
    }

    @Test func emptyHasNoPercentiles() {
        #expect(LatencyHistogram().percentile(0.5) == nil)
    }
}
