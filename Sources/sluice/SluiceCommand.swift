import ArgumentParser

/// `sluice`: enrich CSV, TSV, JSONL and XML files with Gemini on the Flex tier.
@main
struct SluiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "Enrich data files with Gemini on the Flex tier: streaming, resumable, priced.",
        discussion: """
            Exit codes: 0 every record enriched · 2 finished, some records failed · 75 stopped early, \
            resumable (run the same command again) · 64 usage · 65 bad input data · 1 anything else.
            """,
        subcommands: [RunCommand.self, StatusCommand.self, CancelCommand.self, DemoCommand.self, SimulateCommand.self]
    )
}
