/// Requests sent and refused with 429 over the trailing minute, in sixty buckets: what the
/// service accepted in the last minute is the best estimate of a quota that names no value.
struct SendHistory: Sendable, Equatable {
    /// Seconds per bucket: a sixtieth of the minute.
    let width: Double
    private var index: [Int]
    private var sent: [Int]
    private var refused: [Int]

    init(minute: Double) {
        width = max(minute / 60, 1e-6)
        index = Array(repeating: Int.min, count: 61)
        sent = Array(repeating: 0, count: 61)
        refused = Array(repeating: 0, count: 61)
    }

    private mutating func slot(_ now: Double) -> Int {
        let i = Int((now / width).rounded(.down))
        let s = ((i % 61) + 61) % 61
        if index[s] != i {
            index[s] = i
            sent[s] = 0
            refused[s] = 0
        }
        return s
    }

    mutating func recordSent(now: Double) { sent[slot(now)] += 1 }
    mutating func recordRefused(now: Double) { refused[slot(now)] += 1 }

    /// Requests sent in the trailing minute and not refused.
    func accepted(now: Double) -> Int {
        let current = Int((now / width).rounded(.down))
        var total = 0
        for s in 0..<61 where index[s] > current - 60 && index[s] <= current { total += sent[s] - refused[s] }
        return max(0, total)
    }
}
