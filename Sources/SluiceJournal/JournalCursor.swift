/// Walks a journal's outcomes in record order, a page at a time, for a pass that reads the
/// input in the same order: `outcome(for:)` with ascending numbers costs one query per page.
/// (Shards will merge several cursors the same way.)
public struct JournalCursor {
    let journal: Journal
    let pageSize: Int
    private var page: [Journal.Outcome] = []
    private var index = 0
    private var last = 0

    public init(_ journal: Journal, pageSize: Int = 2048) {
        self.journal = journal
        self.pageSize = pageSize
    }

    /// The journaled outcome of record `number` (nil: none), skipping outcomes of records
    /// before it. Numbers must not decrease from call to call.
    public mutating func outcome(for number: Int) throws(JournalError) -> Journal.Outcome? {
        while true {
            if index == page.count {
                page = try journal.outcomes(after: last, limit: pageSize)
                index = 0
            }
            guard index < page.count, page[index].number < number else { break }
            last = page[index].number
            index += 1
        }
        guard index < page.count, page[index].number == number else { return nil }
        let outcome = page[index]
        last = outcome.number
        index += 1
        return outcome
    }
}
