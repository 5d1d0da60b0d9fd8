import AsyncHTTPClient
import Foundation
import SluiceJSON
@testable import SluiceSimulator
import SluiceTestSupport
import Testing

/// The simulated Files and Batch APIs on the wire (gemini-next.md §2): resumable upload,
/// create, the state machine on the clock, caps, results keyed by line.
@Suite("Batch and Files API simulation")
struct BatchWireTests {
    static let key = ["x-goog-api-key": "sim-test-key"]

    static func line(_ key: String, _ text: String, schema: Bool = false) -> String {
        var request = #"{"contents":[{"role":"user","parts":[{"text":"\#(text)"}]}]"#
        if schema {
            request += #","generationConfig":{"responseMimeType":"application/json","responseJsonSchema":{"type":"object","properties":{"label":{"type":"string"}},"required":["label"]}}"#
        }
        return #"{"key":"\#(key)","request":\#(request)}}"#
    }

    /// Uploads `text` in chunks of `chunk` bytes; returns the file name.
    static func upload(_ base: String, _ text: String, chunk: Int = 1 << 20) async throws -> String {
        let bytes = Array(text.utf8)
        let start = try await Wire.send("\(base)/upload/v1beta/files", body: #"{"file":{"display_name":"in"}}"#, headers: key.merging([
            "X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start",
            "X-Goog-Upload-Header-Content-Length": String(bytes.count), "X-Goog-Upload-Header-Content-Type": "application/jsonl",
        ]) { $1 })
        let url = try #require(start.headers["x-goog-upload-url"])
        var offset = 0
        while true {
            let end = min(offset + chunk, bytes.count)
            let last = end == bytes.count
            let r = try await Wire.send(url, body: String(decoding: bytes[offset..<end], as: UTF8.self), headers: [
                "X-Goog-Upload-Command": last ? "upload, finalize" : "upload", "X-Goog-Upload-Offset": String(offset),
            ])
            // No upload status: the chunk did not land; send it again.
            guard let status = r.headers["x-goog-upload-status"] else { continue }
            offset = end
            if last {
                #expect(status == "final")
                return try #require(r.json["file"]?["name"]?.stringValue)
            }
            #expect(status == "active")
        }
    }

    static func create(_ base: String, file: String, name: String = "wave-1") async throws -> WireResponse {
        try await Wire.send("\(base)/v1beta/models/gemini-3.5-flash:batchGenerateContent",
                            body: #"{"batch":{"displayName":"\#(name)","inputConfig":{"fileName":"\#(file)"}}}"#)
    }

    static func waitDone(_ base: String, _ name: String, seconds: Double = 60) async throws -> (JSONValue, [String]) {
        var states: [String] = []
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            let op = try await Wire.send("\(base)/v1beta/\(name)", method: .GET).json
            let state = op["metadata"]?["state"]?.stringValue ?? "?"
            if states.last != state { states.append(state) }
            if op["done"] == true { return (op, states) }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw CancellationError()
    }

    @Test func eachLineIsAnsweredAsGenerateContentAnswersTheSameBody() async throws {
        try await SimulatorServer.withRunning(.instant) { sim in
            let lines = [Self.line("row-1", "first record"), Self.line("row-2", "second record", schema: true),
                         Self.line("row-3", "third sim-fault:500"), Self.line("row-4", "fourth sim-fault:safety")]
            let file = try await Self.upload(sim.baseURL, lines.joined(separator: "\n") + "\n", chunk: 100)
            let created = try await Self.create(sim.baseURL, file: file)
            #expect(created.status == 200, "\(created.text)")
            let name = try #require(created.json["name"]?.stringValue)
            let (op, _) = try await Self.waitDone(sim.baseURL, name)
            #expect(op["metadata"]?["state"] == "BATCH_STATE_SUCCEEDED")
            #expect(op["metadata"]?["batchStats"]?["requestCount"] == "4")
            #expect(op["metadata"]?["batchStats"]?["failedRequestCount"] == "1")
            let output = try #require(op["response"]?["responsesFile"]?.stringValue)
            #expect(op["metadata"]?["output"]?["responsesFile"]?.stringValue == output)
            let download = try await Wire.send("\(sim.baseURL)/v1beta/\(output):download?alt=media", method: .GET)
            let results = download.text.split(separator: "\n").map { Wire.json(String($0)) }
            #expect(results.map { $0["key"]?.stringValue ?? "" } == ["row-1", "row-2", "row-3", "row-4"])
            #expect(results[2]["error"]?["status"] == "INTERNAL")
            // The same bodies sent online get the same answers (text, finish reason, usage).
            for (i, line) in lines.enumerated() where i != 2 {
                let body = JSONWriter.string(Wire.json(line)["request"]!)
                let online = try await Wire.send("\(sim.baseURL)/v1beta/models/gemini-3.5-flash:generateContent", body: body).json
                let batch = try #require(results[i]["response"])
                #expect(batch["candidates"] == online["candidates"], "line \(i + 1)")
                #expect(batch["usageMetadata"]?["promptTokenCount"] == online["usageMetadata"]?["promptTokenCount"])
                #expect(batch["usageMetadata"]?["candidatesTokenCount"] == online["usageMetadata"]?["candidatesTokenCount"])
                #expect(batch["usageMetadata"]?["serviceTier"] == nil)
            }
            let stats = sim.simulator.statsJSON()["batch"]
            #expect(stats?["batches_created"] == 1 && stats?["lines_answered"] == 3 && stats?["lines_failed"] == 1)
            // An uploaded file is not downloadable; a generated one is.
            let id = file.dropFirst("files/".count)
            #expect(try await Wire.send("\(sim.baseURL)/download/v1beta/files/\(id):download?alt=media", method: .GET).status == 400)
        }
    }

    @Test func aBatchGoesPendingRunningSucceededOnTheClock() async throws {
        var config = SimulatorConfiguration.instant
        config.timeScale = 0.01
        config.batchPendingSeconds = 100
        config.batchLatency = .init(minimum: 300, median: 300, maximum: 300)
        try await SimulatorServer.withRunning(config) { sim in
            let file = try await Self.upload(sim.baseURL, Self.line("k", "clocked") + "\n")
            let began = ContinuousClock.now
            let created = try await Self.create(sim.baseURL, file: file)
            #expect(created.json["metadata"]?["state"] == "BATCH_STATE_PENDING")
            #expect(created.json["done"] == false)
            let (op, states) = try await Self.waitDone(sim.baseURL, created.json["name"]!.stringValue!)
            // 300 service seconds at scale 0.01: never done sooner than 3 s (later on a loaded
            // machine, whose polls may miss a state: the states seen keep their order).
            #expect(ContinuousClock.now - began >= .seconds(3))
            let order = ["BATCH_STATE_PENDING", "BATCH_STATE_RUNNING", "BATCH_STATE_SUCCEEDED"]
            #expect(states.last == order.last && states == states.sorted { order.firstIndex(of: $0)! < order.firstIndex(of: $1)! }, "\(states)")
            #expect(op["metadata"]?["endTime"]?.stringValue != nil)
        }
    }

    @Test func theEnqueuedTokenCapRefusesACreateUntilTheRunningBatchEnds() async throws {
        var config = SimulatorConfiguration.instant
        config.timeScale = 0.01
        config.batchPendingSeconds = 0
        config.batchLatency = .init(minimum: 200, median: 200, maximum: 200)
        config.batchEnqueuedTokenCap = 40
        try await SimulatorServer.withRunning(config) { sim in
            let text = (1...4).map { Self.line("r\($0)", "some words to count as tokens \($0)") }.joined(separator: "\n")
            let file = try await Self.upload(sim.baseURL, text)
            let first = try await Self.create(sim.baseURL, file: file)
            #expect(first.status == 200, "\(first.text)")
            let second = try await Self.create(sim.baseURL, file: file, name: "wave-2")
            #expect(second.status == 429)
            #expect(second.json["error"]?["status"] == "RESOURCE_EXHAUSTED")
            #expect(second.json["error"]?["message"]?.stringValue?.contains("Enqueued tokens") == true)
            _ = try await Self.waitDone(sim.baseURL, first.json["name"]!.stringValue!)
            #expect(try await Self.create(sim.baseURL, file: file, name: "wave-2").status == 200)
            #expect(sim.simulator.statsJSON()["batch"]?["creates_refused"] == 1)
        }
    }

    @Test func expiredFailedAndCancelledBatchesEndWithoutResults() async throws {
        var config = SimulatorConfiguration.instant
        config.batchExpireFirst = 1
        config.batchFailFirst = 1
        try await SimulatorServer.withRunning(config) { sim in
            let file = try await Self.upload(sim.baseURL, Self.line("k", "x") + "\n")
            var ended: [String] = []
            for wave in 1...3 {
                let name = try #require(try await Self.create(sim.baseURL, file: file, name: "w\(wave)").json["name"]?.stringValue)
                let (op, _) = try await Self.waitDone(sim.baseURL, name)
                ended.append(op["metadata"]?["state"]?.stringValue ?? "?")
                if wave < 3 {
                    #expect(op["response"] == nil && op["error"]?["code"] != nil, "\(op)")
                }
            }
            #expect(ended == ["BATCH_STATE_EXPIRED", "BATCH_STATE_FAILED", "BATCH_STATE_SUCCEEDED"])
            // Cancel: a batch still pending ends CANCELLED with error code 1; list shows it; delete hides it.
            var slow = SimulatorConfiguration.instant
            slow.timeScale = 1
            try await SimulatorServer.withRunning(slow) { sim2 in
                let f2 = try await Self.upload(sim2.baseURL, Self.line("k", "y") + "\n")
                let name = try #require(try await Self.create(sim2.baseURL, file: f2, name: "to-cancel").json["name"]?.stringValue)
                #expect(try await Wire.send("\(sim2.baseURL)/v1beta/\(name):cancel", body: "{}").status == 200)
                let op = try await Wire.send("\(sim2.baseURL)/v1beta/\(name)", method: .GET).json
                #expect(op["metadata"]?["state"] == "BATCH_STATE_CANCELLED" && op["error"]?["code"] == 1)
                let listed = try await Wire.send("\(sim2.baseURL)/v1beta/batches?pageSize=10", method: .GET).json
                #expect(listed["operations"]?.arrayValue?.compactMap { $0["metadata"]?["displayName"]?.stringValue } == ["to-cancel"])
                #expect(try await Wire.send("\(sim2.baseURL)/v1beta/\(name)", method: .DELETE).status == 200)
                #expect(try await Wire.send("\(sim2.baseURL)/v1beta/\(name)", method: .GET).status == 404)
            }
        }
    }

    @Test func uploadChunksAreCheckedByOffsetAndAFaultedChunkIsSentAgain() async throws {
        var config = SimulatorConfiguration.instant
        config.uploadChunkFaults = 2
        try await SimulatorServer.withRunning(config) { sim in
            let text = (1...20).map { Self.line("r\($0)", "row \($0)") }.joined(separator: "\n")
            let file = try await Self.upload(sim.baseURL, text, chunk: 256)
            let stats = sim.simulator.statsJSON()["batch"]
            #expect(stats?["upload_chunk_faults"] == 2 && stats?["files_uploaded"] == 1)
            let meta = try await Wire.send("\(sim.baseURL)/v1beta/\(file)", method: .GET).json
            #expect(meta["sizeBytes"]?.stringValue == String(text.utf8.count))
            // A chunk at the wrong offset is refused; `query` says what arrived.
            let start = try await Wire.send("\(sim.baseURL)/upload/v1beta/files", body: "{}", headers: Self.key.merging([
                "X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start", "X-Goog-Upload-Header-Content-Length": "10",
            ]) { $1 })
            let url = try #require(start.headers["x-goog-upload-url"])
            #expect(try await Wire.send(url, body: "abcd", headers: ["X-Goog-Upload-Command": "upload", "X-Goog-Upload-Offset": "0"]).status == 200)
            #expect(try await Wire.send(url, body: "efgh", headers: ["X-Goog-Upload-Command": "upload", "X-Goog-Upload-Offset": "2"]).status == 400)
            let query = try await Wire.send(url, body: "", headers: ["X-Goog-Upload-Command": "query"])
            #expect(query.headers["x-goog-upload-size-received"] == "4")
        }
    }

    /// google-genai's own `files.upload`, `batches.create/get/list/cancel/delete` and
    /// `files.download` against the simulator, over HTTP and over TLS.
    @Test(arguments: [false, true])
    func theOfficialSDKDrivesTheBatchAPI(tls: Bool) async throws {
        let probe = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../SDKProbes/batch_probe.py").standardized.path
        var config = SimulatorConfiguration.instant
        config.timeScale = 0.0005
        let identity = tls ? try await SimulatorTLS.generate() : nil
        let caFile = NSTemporaryDirectory() + "batch-probe-ca-\(UUID().uuidString).pem"
        defer { try? FileManager.default.removeItem(atPath: caFile) }
        if let identity { try identity.writeCA(to: caFile) }
        let env = tls ? ProcessInfo.processInfo.environment.merging(["SSL_CERT_FILE": caFile]) { $1 } : nil
        var lines: [JSONValue] = []
        var stderr = ""
        try await SimulatorServer.withRunning(config, tls: identity) { sim in
            let r = try await Subprocess.run(["python3", probe, "--base-url", sim.baseURL, "--timeout", "60", "--cases", "file_batch,inline_batch"], environment: env)
            stderr = r.stderr
            lines = r.stdout.split(separator: "\n").compactMap { try? JSONParser.parse(String($0)) }
        }
        // Cancelling needs a batch that is still pending, however slow the machine.
        var slow = config
        slow.batchPendingSeconds = 1_000_000
        try await SimulatorServer.withRunning(slow, tls: identity) { sim in
            let more = try await Subprocess.run(["python3", probe, "--base-url", sim.baseURL, "--timeout", "60", "--cases", "list_cancel_delete"], environment: env)
            lines += more.stdout.split(separator: "\n").compactMap { try? JSONParser.parse(String($0)) }
            stderr += more.stderr
        }
        do {
            try #require(!lines.isEmpty, "the probe printed nothing (is google-genai installed?): \(stderr.suffix(1500))")
            for line in lines { #expect(line["ok"] == true, "\(line)") }
            let file = lines.first { $0["case"] == "file_batch" }?["result"]
            #expect(file?["state"] == "JOB_STATE_SUCCEEDED" && file?["first_state"] == "JOB_STATE_PENDING")
            #expect(file?["row3_error"]?["code"] == 500)
            #expect(lines.first { $0["case"] == "list_cancel_delete" }?["result"]?["state"] == "JOB_STATE_CANCELLED")
        }
    }
}

/// The batch state machine itself, on given times.
@Suite("Batch job states")
struct BatchJobStateTests {
    static func job(ending: BatchJob.Ending) -> BatchJob {
        BatchJob(id: "b", displayName: "w", model: "m", inputFile: "files/f", lines: [], enqueuedTokens: 0,
                 createdAt: 10, runningAt: 15, endsAt: 40, ending: ending)
    }

    @Test func statesFollowTheClockAndCancelWinsBeforeTheEnd() {
        var job = Self.job(ending: .succeed)
        #expect(job.state(at: 12) == .pending)
        #expect(job.state(at: 20) == .running)
        // Due, but its results are not written yet: still running to whoever polls.
        #expect(job.state(at: 41) == .running)
        job.results = BatchResults(file: "files/o", inline: nil, succeeded: 0, failed: 0)
        #expect(job.state(at: 41) == .succeeded && job.endTime(at: 41) == 40)
        var cancelled = Self.job(ending: .succeed)
        cancelled.cancelledAt = 20
        #expect(cancelled.state(at: 21) == .cancelled && cancelled.endTime(at: 21) == 20)
        #expect(Self.job(ending: .expire).state(at: 41) == .expired)
        #expect(Self.job(ending: .fail).state(at: 39) == .running && Self.job(ending: .fail).state(at: 40) == .failed)
    }
}
