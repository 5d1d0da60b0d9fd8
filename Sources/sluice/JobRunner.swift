import SluiceEngine
import SluiceGemini

/// What `run` and `demo` share: a job against a Gemini client for its whole scope, with the
/// progress reporter beside it (stopped when the job returns).
enum JobRunner {
    static func run(_ job: EnrichmentJob, gemini: GeminiClient.Configuration, reporter: ProgressReporter) async throws -> EnrichmentJob.Outcome {
        try await GeminiClient.withClient(gemini, connections: job.options.concurrency) { client in
            try await withThrowingTaskGroup(of: EnrichmentJob.Outcome?.self) { group in
                group.addTask { await reporter.run(); return nil }
                group.addTask { try await job.run(client: client, batchClient: client) }
                for try await result in group {
                    if let result {
                        group.cancelAll()
                        return result
                    }
                }
                fatalError("the job task always returns")
            }
        }
    }
}
