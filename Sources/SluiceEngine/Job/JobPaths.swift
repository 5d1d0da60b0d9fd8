import SluiceFormats

/// Every default path of a job, in one place: the CLI fills in what the user did not name,
/// and the job derives the rest the same way (later: one set per shard).
public enum JobPaths {
    /// `NAME.enriched.EXT` beside the input; a `.gz` input gives a `.gz` output.
    public static func output(for input: String, format: RecordFormat) -> String {
        var base = input
        let compressed = base.hasSuffix(".gz")
        if compressed { base.removeLast(3) }
        if let dot = base.lastIndex(of: "."), !base[dot...].contains("/") { base = String(base[..<dot]) }
        return "\(base).enriched.\(format.rawValue)\(compressed ? ".gz" : "")"
    }

    /// Beside the output; with the output on standard output, beside the input (or in the
    /// working directory for standard input).
    public static func journal(output: String, input: String) -> String {
        output != "-" ? output + ".sluice-journal" : input == "-" ? "sluice-stdin.sluice-journal" : input + ".sluice-journal"
    }

    /// Standard input is spooled beside the journal: the output pass reads the input twice, and
    /// a resumed run compares the new spool's identity with the journal's.
    public static func stdinSpool(journal: String) -> String { journal + ".input" }

    /// The dead-letter file of the `skip` bad-record policy: beside the output (or the journal).
    public static func badRecords(output: String, journal: String) -> String {
        (output == "-" ? journal : output) + ".bad-records.jsonl"
    }
}
