/// Requests sent and refused with 429 over the last minutes, in buckets of a sixtieth of a
/// minute, each refusal counted at its request's send time: what the service accepted in the
/// minute before a refused send is the best estimate of a quota that names no value. Five
/// minutes are kept: a busy service may answer a 429 long after the send.
struct SendHistory: Sendable, Equatable {
    /// Seconds per bucket: a sixtieth of the minute.
    let width: Double
    private static let count = 301
    private var index: [Int]
    private var sent: [Int]
    private var refused: [Int]

    init(minute: Double) {
        width = max(minute / 60, 1e-6)
        index = Array(repeating: Int.min, count: Self.count)
        sent = Array(repeating: 0, count: Self.count)
        refused = Array(repeating: 0, count: Self.count)
    }

    /// The bucket of `time`, claimed if it is newer than what the slot holds; nil if older.
    private mutating func slot(_ time: Double) -> Int? {
        let i = Int((time / width).rounded(.down))
        let s = ((i % Self.count) + Self.count) % Self.count
        if index[s] < i {
            index[s] = i
            sent[s] = 0
            refused[s] = 0
        }
        return index[s] == i ? s : nil
    }

    mutating func recordSent(now: Double) {
        if let s = slot(now) { sent[s] += 1 }
    }

    mutating func recordRefused(sentAt: Double) {
        if let s = slot(sentAt) { refused[s] += 1 }
    }

    /// The most requests accepted in any minute-long span ending in the minute up to `time`.
    /// A busy service may spend a fresh window on requests sent before it (arriving late), so
    /// the minute just before a refusal can show almost nothing accepted; the best recent
    /// minute is the quota, give or take what straddles a window.
    func peakAccepted(upTo time: Double) -> Int {
        let current = Int((time / width).rounded(.down))
        var net = Array(repeating: 0, count: 120)
        for s in 0..<Self.count where index[s] > current - 120 && index[s] <= current { net[index[s] - (current - 119)] = sent[s] - refused[s] }
        var sum = net[0..<60].reduce(0, +)
        var best = sum
        for i in 60..<120 {
            sum += net[i] - net[i - 60]
            best = max(best, sum)
        }
        return max(0, best)
    }
}
