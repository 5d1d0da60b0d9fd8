import SluiceFormats

/// What the bad-record policy does with a record the reader cannot read.
public enum BadRecordPolicy: String, Sendable, CaseIterable {
    /// Stop with exit 65 and the record's position (default).
    case fail
    /// Write it to the dead-letter file with its position and reason; go on with the next.
    case skip
}

/// The input as a pass sees it: records, and bad records the policy lets through as values.
final class RecordInput {
    enum Entry {
        case record(Record)
        case bad(FormatError)

        var number: Int {
            switch self {
            case .record(let record): record.number
            case .bad(let error): error.record ?? 0
            }
        }
    }

    let reader: any RecordReader
    let policy: BadRecordPolicy

    init(reader: any RecordReader, policy: BadRecordPolicy) {
        self.reader = reader
        self.policy = policy
    }

    func next() throws(FormatError) -> Entry? {
        do {
            return try reader.next().map(Entry.record)
        } catch {
            guard policy == .skip, error.isRecordLevel else { throw error }
            return .bad(error)
        }
    }
}
