/// A record's state in the journal. Absent from the journal means pending.
public enum RecordState: String, Sendable {
    /// Sent at least once; no final answer yet (after a crash: possibly paid for, not journaled).
    case inFlight = "in_flight"
    case done
    case failed
    /// In a Batch API wave (`RecordUpdate.wave`): waiting for that wave's results. Pending
    /// again once the wave has ended without an answer for it.
    case submitted
}

/// One write to the journal.
public struct RecordUpdate: Sendable {
    public var number: Int
    public var byteOffset: Int64
    public var state: RecordState
    public var answer: String?
    public var error: String?
    public var inputTokens = 0
    public var outputTokens = 0
    public var thoughtTokens = 0
    public var attempts = 0
    public var servedTier: String?
    public var promptHash: String?
    public var note: String?
    /// The Batch API wave the record was sent in.
    public var wave: Int?

    public init(number: Int, byteOffset: Int64, state: RecordState) {
        self.number = number
        self.byteOffset = byteOffset
        self.state = state
    }
}

/// Record numbers with a final state, as a bit set: 10 million records take 1.25 MB.
public struct RecordSet: Sendable {
    private var words: [UInt64] = []
    public private(set) var count = 0

    public init() {}

    public func contains(_ n: Int) -> Bool {
        let w = n >> 6
        return w < words.count && words[w] & (1 << UInt64(n & 63)) != 0
    }

    public mutating func formUnion(_ other: RecordSet) {
        if other.words.count > words.count { words.append(contentsOf: repeatElement(0, count: other.words.count - words.count)) }
        count = 0
        for i in words.indices {
            if i < other.words.count { words[i] |= other.words[i] }
            count += words[i].nonzeroBitCount
        }
    }

    public mutating func insert(_ n: Int) {
        let w = n >> 6
        if w >= words.count { words.append(contentsOf: repeatElement(0, count: w - words.count + 1)) }
        if words[w] & (1 << UInt64(n & 63)) == 0 {
            words[w] |= 1 << UInt64(n & 63)
            count += 1
        }
    }
}
