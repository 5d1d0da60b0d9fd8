import ArgumentParser
import Foundation
import SluiceEngine
import SluiceJournal

/// `sluice status`: what a journal holds.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Summarize a job's journal: records done, failed, in flight; tokens; the job it belongs to.",
        discussion: "Example: sluice status --journal companies.enriched.csv.sluice-journal"
    )

    @Option(help: "The journal to read.") var journal: String

    func run() async throws {
        do {
            let reader = try JournalReader(path: journal)
            let (meta, s) = (try reader.meta(), try reader.summary())
            var lines = ["journal: \(journal)", "created: \(meta["created"] ?? "?")"]
            for key in meta.keys.sorted() where key.hasPrefix("fp.") { lines.append("\(key.dropFirst(3)): \(meta[key]!)") }
            lines.append("records: \(s.done) done, \(s.failed) failed, \(s.inFlight) sent without a journaled answer")
            lines.append("tokens: \(s.inputTokens) in, \(s.outputTokens) out, \(s.thoughtTokens) thinking; attempts: \(s.attempts)")
            // Batch mode: each wave, its state and the remote names it holds.
            for w in try reader.waves() {
                let names = [w.fileName, w.batchName].compactMap { $0 }.joined(separator: ", ")
                lines.append("batch wave \(w.number): \(w.state.rawValue), \(w.records) records, ~\(w.tokens) input tokens\(names.isEmpty ? "" : " (\(names))")\(w.error.map { "; \($0)" } ?? "")")
            }
            print(lines.joined(separator: "\n"))
        } catch {
            let failure = EngineError(error)
            FileHandle.standardError.write(Data("sluice: error: \(ExitStatus.text(for: failure))\n".utf8))
            throw ExitCode(ExitStatus.code(for: failure))
        }
    }
}
