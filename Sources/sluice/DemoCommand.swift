import ArgumentParser
import Foundation
import Logging
import SluiceEngine
import SluiceFormats
import SluiceGemini
import SluiceSimulator

/// `sluice demo`: the whole pipeline on an embedded sample, against an in-process simulator.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Enrich a sample of company records end to end against a built-in simulator (no API key, no network).",
        discussion: """
            Starts the Gemini simulator on 127.0.0.1 with Flex-like queueing (latencies scaled down \
            100×, small capacity so some requests are shed and retried), runs the company-profile \
            template over 20 company records, and prints the first rows of the result. \
            The answers are simulated: deterministic text derived from each prompt, shaped by the schema.

            Example: sluice demo --keep demo-output
            """
    )

    @Option(help: "Directory to keep the demo's input, template, output and journal in (default: a temporary one).") var keep: String?
    @Option(help: "Latency multiplier for the simulator's Flex model (1 = real Flex minutes).") var timeScale = 0.01

    func run() async throws {
        let directory = keep ?? NSTemporaryDirectory() + "sluice-demo-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let input = directory + "/companies.csv"
        let templatePath = directory + "/company-profile.md"
        let output = directory + "/companies.enriched.csv"
        try DemoAssets.companiesCSV.write(toFile: input, atomically: true, encoding: .utf8)
        try DemoAssets.companyProfileTemplate.write(toFile: templatePath, atomically: true, encoding: .utf8)

        var sim = SimulatorConfiguration()
        sim.timeScale = timeScale
        sim.flex = .init(capacity: 6, queueLimit: 4, latency: .init(minimum: 60, median: 150, maximum: 600))
        sim.seed = 2026
        let note = "sluice demo: answers below are SIMULATED by the built-in Gemini simulator, not produced by a model.\n"
        FileHandle.standardError.write(Data(note.utf8))
        let code = try await SimulatorServer.withRunning(sim) { running -> Int32 in
            FileHandle.standardError.write(Data("sluice demo: simulator on \(running.baseURL) (Flex capacity 6, queue 4: expect some 503 shedding and retries)\n".utf8))
            let template = try PromptTemplate(contentsOf: templatePath)
            var options = JobConfiguration(
                input: .init(path: input, format: .csv), output: .init(path: output, format: .csv, column: "answer"),
                prompt: .init(template: template, schema: template.settings.schema, model: template.settings.model ?? ModelOptions.defaultModel, tier: .flex),
                journal: .init(path: output + ".sluice-journal"), prices: GeminiPrices())
            options.concurrency = 16
            options.journal.restart = true
            options.dispatch.retry.baseDelay = 0.3
            options.dispatch.retry.maxDelay = 3
            options.prompt.system = template.settings.system
            options.prompt.maxOutputTokens = template.settings.maxOutputTokens
            let job = EnrichmentJob(options: options, logger: Logger(label: "sluice-demo"))
            let reporter = ProgressReporter(counters: job.counters, interval: 1)
            let gemini = GeminiClient.Configuration(baseURL: running.baseURL, apiKey: "sim-test-key", api: .interactions)
            let outcome = try await JobRunner.run(job, gemini: gemini, reporter: reporter)
            let summary = RunSummary(job.counters.snapshot, outcome: outcome, model: options.prompt.model, tier: .flex, prices: options.prices, elapsed: reporter.elapsed)
            FileHandle.standardError.write(Data((RunReport.text(summary) + "\n").utf8))
            return ExitStatus.code(for: outcome.status)
        }
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        let head = text.split(separator: "\n", omittingEmptySubsequences: false).prefix(6).joined(separator: "\n")
        print("First rows of \(output):\n\(head)\n…")
        print("(simulated answers — point `sluice run` at the real service with GEMINI_API_KEY set to get real ones)")
        if keep == nil { try? FileManager.default.removeItem(atPath: directory) }
        if code != 0 { throw ExitCode(code) }
    }
}
