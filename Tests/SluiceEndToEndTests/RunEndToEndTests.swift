import Foundation
import SluiceEngine
import SluiceFormats
import SluiceJSON
import SluiceJournal
import SluiceSimulator
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `sluice run` as a user runs it, against the in-process simulator over loopback.
@Suite("sluice run end to end")
struct RunEndToEndTests {
    /// Random Flex-like latencies (tens to hundreds of ms) so answers complete out of order.
    static var jittery: SimulatorConfiguration {
        var c = SimulatorConfiguration()
        c.flex = .init(capacity: 1000, queueLimit: 1000, latency: .init(minimum: 0.005, median: 0.06, maximum: 0.4))
        c.timeScale = 1
        return c
    }

    static let env = ["GEMINI_API_KEY": "sim-test-key"]

    static func csvInput(_ n: Int) -> String {
        var text = "id,name,note\n"
        for i in 1...n { text += "\(i),Item \(i),\"a, \"\"quoted\"\" note\nwith a newline \(i)\"\n" }
        return text
    }

    /// The prompt the template renders for row `i` of `csvInput`.
    static func csvPrompt(_ i: Int) -> String { "Describe Item \(i): a, \"quoted\" note\nwith a newline \(i) <b>&</b>" }

    static let textTemplate = "Describe {{name}}: {{note}} <b>&</b>"

    @Test func csvRunAddsTheAnswerColumnInInputOrder() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let input = try dir.write("items.csv", Self.csvInput(40))
        let template = try dir.write("describe.md", Self.textTemplate)
        try await SimulatorServer.withRunning(Self.jittery) { sim in
            let r = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", sim.baseURL, "--concurrency", "16"], environment: Self.env)
            #expect(r.status == 0, "\(r.stderr)")
            let output = dir.read("items.enriched.csv")
            let reader = try CSVReader(try FileByteSource(path: dir.path + "/items.enriched.csv"))
            #expect(reader.columns == ["id", "name", "note", "describe", "sluice_error"])
            var n = 0
            while let record = try reader.next() {
                n += 1
                #expect(record.fields["id"] == .string("\(n)"))
                #expect(record.fields["describe"] == .string(AnswerGenerator.text(for: Self.csvPrompt(n))))
                #expect(record.fields["sluice_error"] == .string(""))
            }
            #expect(n == 40)
            #expect(output.hasPrefix("id,name,note,describe,sluice_error\n1,Item 1,\"a, \"\"quoted\"\" note\nwith a newline 1\","))
            // Completions really arrived out of order.
            let arrivals = sim.simulator.events().compactMap(\.promptHash)
            let inOrder = (1...40).map { PromptHash.hex(Self.csvPrompt($0)) }
            #expect(arrivals.count == 40)
            #expect(Set(arrivals) == Set(inOrder))
            #expect(r.stderr.contains("records: 40 enriched, 0 failed"))
        }
    }

    @Test func jsonlRunWithSchemaAddsOneKeyPerPropertyKeepingKeyOrder() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        var lines: [String] = []
        for i in 1...30 { lines.append(#"{"user":{"name":"u\#(i)","id":\#(i)},"text":"comment number \#(i)","z":[1,2.50]}"#) }
        let input = try dir.write("comments.jsonl", lines.joined(separator: "\n") + "\n\n")
        let template = try dir.write("moderate.md", """
            ---
            schema:
              type: object
              properties:
                label: {type: string, enum: [ok, spam, abuse]}
                reason: {type: string}
                tags: {type: array, items: {type: string}}
              required: [label, reason, tags]
            ---
            User {{user.name}} wrote: {{text}}
            """)
        try await SimulatorServer.withRunning(Self.jittery) { sim in
            let r = try await SluiceProcess.run(["run", input, "-t", template, "-o", dir.path + "/out.jsonl", "--endpoint", sim.baseURL], environment: Self.env)
            #expect(r.status == 0, "\(r.stderr)")
            let out = dir.read("out.jsonl").split(separator: "\n").map { try! JSONParser.parse(String($0)) }
            #expect(out.count == 30)
            let schema = try JSONParser.parse(#"{"type":"object","properties":{"label":{"type":"string","enum":["ok","spam","abuse"]},"reason":{"type":"string"},"tags":{"type":"array","items":{"type":"string"}}},"required":["label","reason","tags"]}"#)
            for (i, value) in out.enumerated() {
                let n = i + 1
                let answer = try JSONParser.parse(AnswerGenerator.json(for: "User u\(n) wrote: comment number \(n)", schema: schema))
                #expect(value.objectValue?.keys == ["user", "text", "z", "label", "reason", "tags"])
                #expect(value["z"] == .array([.number("1"), .number("2.50")]))
                #expect(value["label"] == answer["label"])
                #expect(value["reason"] == answer["reason"])
                #expect(value["tags"] == answer["tags"])
            }
        }
    }

    @Test func requestBodiesMatchTheDocumentedWireFormat() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let input = try dir.write("one.csv", "name\nAda\n")
        let template = try dir.write("t.md", """
            ---
            system: Be terse.
            max_output_tokens: 64
            thinking_level: low
            schema: {type: object, properties: {kind: {type: string}}, required: [kind]}
            ---
            Who is {{name}}?
            """)
        try await SimulatorServer.withRunning(Self.jittery) { sim in
            for api in ["interactions", "generate-content"] {
                let r = try await SluiceProcess.run(["run", input, "-t", template, "-o", dir.path + "/\(api).csv", "--api", api, "--endpoint", sim.baseURL, "--tier", "flex"],
                                                    environment: ["GEMINI_API_KEY": "sim-test-key"])
                #expect(r.status == 0, "\(r.stderr)")
            }
            let events = sim.simulator.events()
            #expect(events.count == 2)
            #expect(events[0].path == "/v1beta/interactions")
            #expect(events[0].body == (try JSONParser.parse("""
                {"model":"gemini-3.5-flash","input":"Who is Ada?","system_instruction":"Be terse.",
                 "generation_config":{"max_output_tokens":64,"thinking_level":"low"},
                 "response_format":{"type":"text","mime_type":"application/json","schema":{"type":"object","properties":{"kind":{"type":"string"}},"required":["kind"]}},
                 "service_tier":"flex","store":false}
                """)))
            #expect(events[1].path == "/v1beta/models/gemini-3.5-flash:generateContent")
            #expect(events[1].body == (try JSONParser.parse("""
                {"contents":[{"role":"user","parts":[{"text":"Who is Ada?"}]}],"systemInstruction":{"role":"user","parts":[{"text":"Be terse."}]},
                 "serviceTier":"flex",
                 "generationConfig":{"maxOutputTokens":64,"responseMimeType":"application/json",
                   "responseJsonSchema":{"type":"object","properties":{"kind":{"type":"string"}},"required":["kind"]},"thinkingConfig":{"thinkingLevel":"LOW"}}}
                """)))
            #expect(events.allSatisfy { $0.headers["x-goog-api-key"] == "<redacted>" && $0.headers["content-type"] == "application/json" })
            #expect(dir.read("interactions.csv") == dir.read("generate-content.csv"))
        }
    }

    @Test func sigkillMidRunThenResumeGivesTheSameOutputWithoutResending() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let input = try dir.write("items.csv", Self.csvInput(300))
        let template = try dir.write("describe.md", Self.textTemplate)
        var config = Self.jittery
        config.flex = .init(capacity: 1000, queueLimit: 1000, latency: .init(minimum: 0.05, median: 0.3, maximum: 1.5))
        try await SimulatorServer.withRunning(config) { sim in
            // Reference: an uninterrupted run.
            let reference = try await SluiceProcess.run(["run", input, "-t", template, "-o", dir.path + "/reference.csv", "--endpoint", sim.baseURL, "--concurrency", "32"],
                                                        environment: Self.env)
            #expect(reference.status == 0, "\(reference.stderr)")
            sim.simulator.reset()

            let args = ["run", input, "-t", template, "-o", dir.path + "/resumed.csv", "--endpoint", sim.baseURL, "--concurrency", "32"]
            let first = try SluiceProcess(args, environment: Self.env)
            let deadline = ContinuousClock.now + .seconds(60)
            while sim.simulator.stats().totals.answers < 60, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            first.kill()
            let killed = await first.wait()
            #expect(killed.status != 0)
            #expect(!FileManager.default.fileExists(atPath: dir.path + "/resumed.csv"))
            let journaled = try journaledPromptHashes(dir.path + "/resumed.csv.sluice-journal")
            #expect(journaled.count >= 1)
            let beforeResume = sim.simulator.stats()
            sim.simulator.reset()

            let second = try await SluiceProcess.run(args, environment: Self.env)
            #expect(second.status == 0, "\(second.stderr)")
            #expect(dir.read("resumed.csv") == dir.read("reference.csv"))
            let after = sim.simulator.stats()
            for hash in journaled { #expect(after.prompts[hash] == nil, "journaled record \(hash) was requested again") }
            // Every other record was sent (a retry after a transient error on a busy machine may add a request).
            #expect(after.prompts.count == 300 - journaled.count)
            #expect(after.totals.requests >= 300 - journaled.count)
            // Paid twice: only what was in flight (sent but not journaled) when the process died.
            #expect(beforeResume.totals.answers - journaled.count <= 32)
            #expect(second.stderr.contains("\(journaled.count) already journaled"))
        }
    }

    @Test(arguments: ["interactions", "generate-content"])
    func retriesShedRecordsAndRecordsPermanentFailuresInTheErrorColumn(api: String) async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let input = try dir.write("in.csv", "text\nfine\nbusy sim-fault:503*2\nrate sim-fault:429*1\nnasty sim-fault:safety\n")
        let template = try dir.write("t.md", "{{text}}")
        var config = SimulatorConfiguration()
        config.timeScale = 0
        config.faultRetryDelay = 0.2
        config.interactionsRetryAfter = true
        try await SimulatorServer.withRunning(config) { sim in
            let r = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", sim.baseURL, "--api", api, "--retry-base-delay", "0.05"],
                                                environment: Self.env)
            #expect(r.status == 2, "\(r.stderr)")
            let rows = try CSVReader(try FileByteSource(path: dir.path + "/in.enriched.csv"))
            var all: [Record] = []
            while let row = try rows.next() { all.append(row) }
            #expect(all.count == 4)
            #expect(all[0].fields["t"] == .string(AnswerGenerator.text(for: "fine")))
            #expect(all[1].fields["t"] == .string(AnswerGenerator.text(for: "busy sim-fault:503*2")))
            #expect(all[2].fields["t"] == .string(AnswerGenerator.text(for: "rate sim-fault:429*1")))
            #expect(all[3].fields["t"] == .string(""))
            #expect(all[3].fields["sluice_error"]?.stringValue?.contains("blocked") == true)
            let stats = sim.simulator.stats()
            #expect(stats.prompts[PromptHash.hex("busy sim-fault:503*2")]?.requests == 3)
            #expect(stats.prompts[PromptHash.hex("nasty sim-fault:safety")]?.requests == 1)
            // The retry after the 429 waited at least the advertised delay.
            let rate = sim.simulator.events().filter { $0.promptHash == PromptHash.hex("rate sim-fault:429*1") }
            #expect(rate.count == 2)
            if rate.count == 2 { #expect(rate[1].arrived - rate[0].arrived >= 0.2) }
            #expect(r.stderr.contains("records: 3 enriched, 1 failed"))
            // Failed records are final: not sent again unless asked.
            let again = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", sim.baseURL, "--api", api], environment: Self.env)
            #expect(again.status == 2)
            #expect(sim.simulator.stats().prompts[PromptHash.hex("nasty sim-fault:safety")]?.requests == 1)
            let retry = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", sim.baseURL, "--api", api, "--retry-failed"], environment: Self.env)
            #expect(retry.status == 2)
            #expect(sim.simulator.stats().prompts[PromptHash.hex("nasty sim-fault:safety")]?.requests == 2)
            #expect(sim.simulator.stats().prompts[PromptHash.hex("fine")]?.requests == 1)
        }
    }

    @Test func stdinToStdout() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let input = try dir.write("in.jsonl", #"{"q":"one"}"# + "\n" + #"{"q":"two"}"# + "\n")
        let template = try dir.write("a.md", "Answer {{q}}")
        try await SimulatorServer.withRunning(Self.jittery) { sim in
            let args = ["run", "-", "--input-format", "jsonl", "-t", template, "--endpoint", sim.baseURL, "--journal", dir.path + "/j"]
            let r = try await SluiceProcess(args, environment: Self.env, stdinFile: input).wait()
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout == #"{"q":"one","a":"\#(AnswerGenerator.text(for: "Answer one"))"}"# + "\n" + #"{"q":"two","a":"\#(AnswerGenerator.text(for: "Answer two"))"}"# + "\n")
            let again = try await SluiceProcess(args, environment: Self.env, stdinFile: input).wait()
            #expect(again.status == 0)
            #expect(again.stdout == r.stdout)
            #expect(sim.simulator.stats().totals.requests == 2)
        }
    }

    func journaledPromptHashes(_ path: String) throws -> Set<String> {
        Set(try JournalReader(path: path).promptHashes(state: .done))
    }
}

@Suite("graceful stop")
struct GracefulStopTests {
    @Test func sigintStopsSendingJournalsInFlightAndExits75ThenResumes() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let input = try dir.write("items.csv", RunEndToEndTests.csvInput(200))
        let template = try dir.write("describe.md", RunEndToEndTests.textTemplate)
        var config = SimulatorConfiguration()
        config.flex = .init(capacity: 1000, queueLimit: 1000, latency: .init(minimum: 0.3, median: 0.5, maximum: 1))
        try await SimulatorServer.withRunning(config) { sim in
            let args = ["run", input, "-t", template, "--endpoint", sim.baseURL, "--concurrency", "20"]
            let run = try SluiceProcess(args, environment: RunEndToEndTests.env)
            let deadline = ContinuousClock.now + .seconds(30)
            while sim.simulator.stats().totals.answers < 30, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            kill(run.pid, SIGINT)
            let stopped = await run.wait()
            #expect(stopped.status == 75, "\(stopped.stderr)")
            #expect(stopped.stderr.contains("run the same command again"))
            // Every request the server answered before the stop was journaled: nothing paid twice.
            let served = sim.simulator.stats().totals.answers
            let journaled = try JournalReader(path: dir.path + "/items.enriched.csv.sluice-journal").summary().done
            #expect(served == journaled)
            #expect(journaled < 200)
            let resumed = try await SluiceProcess.run(args, environment: RunEndToEndTests.env)
            #expect(resumed.status == 0, "\(resumed.stderr)")
            #expect(sim.simulator.stats().totals.answers == 200)
        }
    }
}
