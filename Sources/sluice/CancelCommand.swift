import ArgumentParser
import Foundation
import SluiceEngine
import SluiceGemini
import SluiceJournal
import SluiceModel

/// `sluice cancel`: cancels a job's live Batch API waves (Ctrl-C leaves them running).
struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel the batches a --mode batch job left running (Ctrl-C leaves them running, resumable).",
        discussion: """
            The journal names each wave's batch. Cancelled waves send their records again if the \
            job is run again. The key comes from GEMINI_API_KEY (or GOOGLE_API_KEY).

            Example: sluice cancel --journal nightly.enriched.jsonl.sluice-journal
            """
    )

    @Option(help: "The job's journal.") var journal: String
    @Option(help: "Base URL of the Gemini API (or a simulator).") var endpoint: String?
    @Option(help: "PEM file of a certificate authority to trust besides the system's; repeatable.") var caFile: [String] = []

    func run() async throws {
        do {
            let waves = try JournalReader(path: journal).waves().filter { $0.state == .submitted && $0.batchName != nil }
            guard !waves.isEmpty else {
                print("no running batches in \(journal)")
                return
            }
            guard let key = GeminiEnvironment.apiKey() else { throw EngineError(.usage, GeminiEnvironment.missingKey) }
            let config = try GeminiEnvironment.configuration(endpoint: endpoint, caFile: caFile, apiKey: key, api: .generateContent)
            let failures = try await GeminiClient.withClient(config, connections: 4) { client in
                var failures = 0
                for wave in waves {
                    do {
                        try await client.cancelBatch(name: wave.batchName!)
                        print("cancelled wave \(wave.number): \(wave.batchName!) (\(wave.records) records)")
                    } catch {
                        failures += 1
                        FileHandle.standardError.write(Data("sluice: error: wave \(wave.number) (\(wave.batchName!)): \((error as? ModelError)?.message ?? "\(error)")\n".utf8))
                    }
                }
                return failures
            }
            if failures > 0 { throw ExitCode(1) }
        } catch let error as EngineError {
            FileHandle.standardError.write(Data("sluice: error: \(ExitStatus.text(for: error))\n".utf8))
            throw ExitCode(ExitStatus.code(for: error))
        } catch let error as JournalError {
            let failure = EngineError(error)
            FileHandle.standardError.write(Data("sluice: error: \(ExitStatus.text(for: failure))\n".utf8))
            throw ExitCode(ExitStatus.code(for: failure))
        }
    }
}
