/// Flex capacity over time: `(at, capacity)` points in service seconds from the simulator's
/// start (scaled by `timeScale` like latencies), e.g. `0:500,120:50,300:500` — a spike of
/// standard traffic that leaves Flex a tenth of its slots for three minutes. A drop below the
/// requests in service evicts the excess (503 after they were in service a while). Pure.
public struct CapacitySchedule: Sendable, Equatable {
    public var points: [(at: Double, capacity: Int)]

    public init(points: [(at: Double, capacity: Int)]) {
        self.points = points.sorted { $0.at < $1.at }
    }

    /// Parses `SECONDS:CAPACITY,…`.
    public init?(parsing text: String) {
        var points: [(Double, Int)] = []
        for part in text.split(separator: ",") {
            let pair = part.split(separator: ":")
            guard pair.count == 2, let at = Double(pair[0].trimmingCharacters(in: .whitespaces)), at >= 0,
                  let capacity = Int(pair[1].trimmingCharacters(in: .whitespaces)), capacity >= 0 else { return nil }
            points.append((at, capacity))
        }
        guard !points.isEmpty else { return nil }
        self.init(points: points)
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.points.count == b.points.count && zip(a.points, b.points).allSatisfy { $0.at == $1.at && $0.capacity == $1.capacity }
    }

    /// Index of the point in force at `elapsed` seconds (real), given `timeScale`; nil before the first.
    func index(at elapsed: Double, timeScale: Double) -> Int? {
        let scale = timeScale > 0 ? timeScale : 1
        return points.lastIndex { $0.at * scale <= elapsed }
    }
}
