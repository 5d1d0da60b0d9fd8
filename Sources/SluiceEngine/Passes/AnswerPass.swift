import SluiceJournal

/// A way to get an answer for every record the journal has none for: online requests today
/// (`OnlinePass`); a provider's batch API, shards, later. A pass journals each answer through the writer
/// before it counts; the output pass then joins the journal with the input, whichever pass ran.
protocol AnswerPass: Sendable {
    /// Answers the records of `input` not in `finals`. Returns the input's field names: the
    /// header, or the union of every record's fields in first-seen order (JSON Lines and XML
    /// records need not share their fields; a tabular output gets a column for each).
    func run(input: RecordInput, finals: RecordSet, writer: JournalWriter, inputColumns: [String]) async throws -> [String]
}
