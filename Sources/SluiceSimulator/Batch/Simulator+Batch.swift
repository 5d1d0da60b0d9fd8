import Foundation
import SluiceJSON

/// The Files and Batch APIs of the Gemini Developer API (gemini-next.md §2): resumable upload,
/// file get/download/delete, `batchGenerateContent`, batch get/list/cancel/delete. Each line of
/// a batch is answered exactly as the same body sent to `generateContent` would be (same text,
/// usage and prompt-driven faults), so a batch run's output can be compared with an online one.
extension Simulator {
    static let batchType = "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatch"
    static let batchOutputType = "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatchOutput"

    /// The response for a Files or Batch request, or nil when the path is not one of theirs.
    func batchRoute(_ request: SimHTTPRequest) async -> SimHTTPResponse? {
        let path = request.path
        let method = request.method
        let isUpload = path == "/upload/v1beta/files"
        let isFiles = path.hasPrefix("/v1beta/files/") || path.hasPrefix("/download/v1beta/files/")
        let isBatches = path == "/v1beta/batches" || path.hasPrefix("/v1beta/batches/")
        let isCreate = method == "POST" && path.hasPrefix("/v1beta/models/") && path.hasSuffix(":batchGenerateContent")
        guard isUpload || isFiles || isBatches || isCreate else { return nil }
        // An upload session's URL is its own credential: the chunks carry no key (as the SDK sends them).
        let isChunk = isUpload && request.query["upload_id"] != nil
        if !isChunk, let failure = authorized(request) { return authError(failure, surface: .generateContent) }
        if isUpload { return upload(request) }
        if isCreate {
            let model = String(path.dropFirst("/v1beta/models/".count).dropLast(":batchGenerateContent".count))
            return createBatch(request, model: model)
        }
        if isFiles {
            let rest = path.hasPrefix("/download/") ? path.dropFirst("/download/v1beta/files/".count) : path.dropFirst("/v1beta/files/".count)
            if method == "GET", rest.hasSuffix(":download") { return await download(String(rest.dropLast(":download".count))) }
            if method == "GET" { return fileResource(String(rest)) }
            if method == "DELETE" { return deleteFile(String(rest)) }
            return ErrorEnvelope.rpc(404, message: "Method not found: \(method) \(path)")
        }
        if path == "/v1beta/batches", method == "GET" { return await listBatches(request) }
        let rest = String(path.dropFirst("/v1beta/batches/".count))
        if method == "POST", rest.hasSuffix(":cancel") { return cancelBatch(String(rest.dropLast(":cancel".count))) }
        if method == "GET" { return await getBatch(rest) }
        if method == "DELETE" { return deleteBatch(rest) }
        return ErrorEnvelope.rpc(404, message: "Method not found: \(method) \(path)")
    }

    func batchStatsJSON() -> JSONValue {
        let now = elapsed
        return batch.withLock { b in
            guard case .object(var o) = b.stats.json else { return .null }
            var states = JSONObject()
            for state in BatchJob.State.allCases {
                let n = b.jobs.values.filter { !$0.deleted && $0.state(at: now) == state }.count
                if n > 0 { states[state.rawValue] = JSONValue(n) }
            }
            o["jobs_by_state"] = .object(states)
            o["enqueued_tokens"] = JSONValue(b.jobs.values.filter { $0.state(at: now).isLive }.reduce(0) { $0 + $1.enqueuedTokens })
            return .object(o)
        }
    }

    func wallClock(_ t: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: startedAt.addingTimeInterval(t))
    }

    // MARK: - Files

    func upload(_ request: SimHTTPRequest) -> SimHTTPResponse {
        let command = (request.headers["x-goog-upload-command"] ?? "").lowercased()
        if command == "start" {
            guard request.headers["x-goog-upload-protocol"]?.lowercased() == "resumable" else {
                return ErrorEnvelope.rpc(400, message: "Only the resumable upload protocol is supported here (X-Goog-Upload-Protocol: resumable).")
            }
            guard let size = request.headers["x-goog-upload-header-content-length"].flatMap(Int.init), size >= 0 else {
                return ErrorEnvelope.rpc(400, message: "X-Goog-Upload-Header-Content-Length is required.")
            }
            let meta = try? JSONParser.parse(request.body)
            let file = meta?["file"]
            let displayName = file?["displayName"]?.stringValue ?? file?["display_name"]?.stringValue
            let mime = request.headers["x-goog-upload-header-content-type"] ?? file?["mimeType"]?.stringValue ?? "application/octet-stream"
            let id = batch.withLock { b in
                b.stats.uploadsStarted += 1
                let id = b.files.newID("u")
                b.files.uploads[id] = FileStore.Upload(displayName: displayName, mimeType: mime, declaredSize: size)
                return id
            }
            let scheme = transportStats().tls ? "https" : "http"
            let host = request.headers["host"] ?? request.headers[":authority"] ?? "127.0.0.1"
            let url = "\(scheme)://\(host)/upload/v1beta/files?upload_id=\(id)&upload_protocol=resumable"
            return SimHTTPResponse(status: 200, headers: [("x-goog-upload-url", url), ("x-goog-upload-status", "active"),
                                                          ("x-goog-upload-chunk-granularity", "8388608"), ("Content-Length", "0")], body: [])
        }
        guard let id = request.query["upload_id"] else {
            return ErrorEnvelope.rpc(400, message: "X-Goog-Upload-Command must be start, or the request must name an upload_id.")
        }
        let faulted = batch.withLock { b -> Bool in
            b.stats.uploadChunks += 1
            guard b.stats.uploadChunkFaults < configuration.uploadChunkFaults else { return false }
            b.stats.uploadChunkFaults += 1
            return true
        }
        // A front end's 503 carries no upload status: the client must send the chunk again.
        if faulted { return ErrorEnvelope.rpc(503, message: "The service is currently unavailable.") }
        let parts = Set(command.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        let result = batch.withLock { b -> Result<(FileStore.File?, Int), SurfaceRejection> in
            guard var upload = b.files.uploads[id] else {
                return .failure(SurfaceRejection(response: ErrorEnvelope.rpc(404, message: "No upload session \(id) (it finished, or never began).")))
            }
            if parts.contains("query") { return .success((nil, upload.bytes.count)) }
            guard parts.contains("upload") else { return .failure(SurfaceRejection(response: ErrorEnvelope.rpc(400, message: "Unknown X-Goog-Upload-Command '\(command)'."))) }
            let offset = request.headers["x-goog-upload-offset"].flatMap(Int.init) ?? -1
            guard offset == upload.bytes.count else {
                return .failure(SurfaceRejection(response: ErrorEnvelope.rpc(400, message: "X-Goog-Upload-Offset \(offset) does not match the \(upload.bytes.count) bytes received.")))
            }
            upload.bytes += request.body
            guard upload.bytes.count <= upload.declaredSize else {
                b.files.uploads[id] = nil
                return .failure(SurfaceRejection(response: ErrorEnvelope.rpc(400, message: "The upload is larger than its declared \(upload.declaredSize) bytes.")))
            }
            guard parts.contains("finalize") else {
                b.files.uploads[id] = upload
                return .success((nil, upload.bytes.count))
            }
            b.files.uploads[id] = nil
            guard upload.bytes.count == upload.declaredSize else {
                return .failure(SurfaceRejection(response: ErrorEnvelope.rpc(400, message: "The upload was finalized at \(upload.bytes.count) of its declared \(upload.declaredSize) bytes.")))
            }
            let file = FileStore.File(id: b.files.newID("f"), displayName: upload.displayName, mimeType: upload.mimeType,
                                      bytes: upload.bytes, createdAt: elapsed, generated: false)
            b.files.files[file.id] = file
            b.stats.filesUploaded += 1
            return .success((file, file.bytes.count))
        }
        switch result {
        case .failure(let rejection): return rejection.response
        case .success(let (file?, _)):
            return .json(200, ["file": file.json(wallClock: wallClock, expiry: configuration.fileExpirySeconds * configuration.timeScale)],
                         headers: [("x-goog-upload-status", "final")])
        case .success(let (nil, received)):
            return SimHTTPResponse(status: 200, headers: [("x-goog-upload-status", "active"), ("x-goog-upload-size-received", String(received)),
                                                          ("Content-Length", "0")], body: [])
        }
    }

    /// A stored file that has not expired.
    func storedFile(_ id: String, in b: BatchState) -> FileStore.File? {
        guard let file = b.files.files[id] else { return nil }
        if !file.generated, elapsed > file.createdAt + configuration.fileExpirySeconds * configuration.timeScale, configuration.timeScale > 0 { return nil }
        return file
    }

    func fileResource(_ id: String) -> SimHTTPResponse {
        guard let file = batch.withLock({ storedFile(id, in: $0) }) else {
            return ErrorEnvelope.rpc(403, message: "You do not have permission to access the File \(id) or it may not exist.")
        }
        return .json(200, file.json(wallClock: wallClock, expiry: configuration.fileExpirySeconds * configuration.timeScale))
    }

    func download(_ id: String) async -> SimHTTPResponse {
        guard let file = batch.withLock({ storedFile(id, in: $0) }) else {
            return ErrorEnvelope.rpc(404, message: "File files/\(id) not found.")
        }
        guard file.generated else {
            return ErrorEnvelope.rpc(400, message: "Only generated files can be downloaded; files/\(id) was uploaded.")
        }
        batch.withLock { $0.stats.downloads += 1 }
        return SimHTTPResponse(status: 200, headers: [("Content-Type", "application/octet-stream")], body: file.bytes)
    }

    func deleteFile(_ id: String) -> SimHTTPResponse {
        let found = batch.withLock { $0.files.files.removeValue(forKey: id) != nil }
        return found ? .json(200, .object([:])) : ErrorEnvelope.rpc(404, message: "File files/\(id) not found.")
    }

    // MARK: - Batches

    func createBatch(_ request: SimHTTPRequest, model: String) -> SimHTTPResponse {
        guard let body = try? JSONParser.parse(request.body), let spec = body["batch"] else {
            return ErrorEnvelope.rpc(400, message: "Invalid JSON payload received. Expected {\"batch\": {...}}.")
        }
        let displayName = spec["displayName"]?.stringValue ?? spec["display_name"]?.stringValue ?? ""
        let input = spec["inputConfig"] ?? spec["input_config"]
        let fileName = input?["fileName"]?.stringValue ?? input?["file_name"]?.stringValue
        let inline = input?["requests"]?["requests"]?.arrayValue
        let now = elapsed
        var lines: [BatchLine]
        if let fileName {
            let id = fileName.hasPrefix("files/") ? String(fileName.dropFirst(6)) : fileName
            guard let file = batch.withLock({ storedFile(id, in: $0) }), !file.generated else {
                return ErrorEnvelope.rpc(400, message: "The input file \(fileName) does not exist or has expired.")
            }
            lines = Self.readLines(file.bytes)
        } else if let inline {
            lines = inline.enumerated().map { i, item in
                BatchLine(key: item["metadata"]?["key"]?.stringValue ?? String(i), request: item["request"], problem: item["request"] == nil ? "no request" : nil)
            }
        } else {
            return ErrorEnvelope.rpc(400, message: "batch.inputConfig needs fileName or requests.")
        }
        if lines.isEmpty { return ErrorEnvelope.rpc(400, message: "The batch has no requests.") }
        let tokens = lines.reduce(0) { sum, line in
            sum + (line.request.flatMap { try? GenerateContentSurface.parse($0, model: model) }?.inputTokens ?? 0)
        }
        let result = batch.withLock { b -> Result<BatchJob, SurfaceRejection> in
            let live = b.jobs.values.filter { $0.state(at: now).isLive }
            if live.count >= configuration.maxLiveBatches {
                b.stats.createsRefused += 1
                return .failure(SurfaceRejection(response: ErrorEnvelope.rpc(429, message: "Too many concurrent batches: at most \(configuration.maxLiveBatches) may be pending or running.")))
            }
            let enqueued = live.filter { $0.model == model }.reduce(0) { $0 + $1.enqueuedTokens }
            if let cap = configuration.batchEnqueuedTokenCap, enqueued + tokens > cap {
                b.stats.createsRefused += 1
                return .failure(SurfaceRejection(response: ErrorEnvelope.rpc(429, message: "Enqueued tokens limit exceeded for model \(model): \(enqueued) enqueued + \(tokens) in this batch > \(cap). Wait for running batches to finish.")))
            }
            let id = b.files.newID("b")
            let created = b.stats.batchesCreated
            b.stats.batchesCreated += 1
            var rng = SplitMix64(seed: configuration.seed ^ PromptHash.value(displayName) &+ UInt64(created))
            let scale = configuration.timeScale
            let turnaround = max(configuration.batchLatency.seconds(uniform: rng.unit()), configuration.batchPendingSeconds) * scale
            let ending: BatchJob.Ending = created < configuration.batchExpireFirst ? .expire
                : created < configuration.batchExpireFirst + configuration.batchFailFirst ? .fail : .succeed
            let job = BatchJob(id: id, displayName: displayName, model: model, inputFile: fileName, lines: lines, enqueuedTokens: tokens,
                               createdAt: now, runningAt: now + configuration.batchPendingSeconds * scale, endsAt: now + turnaround, ending: ending)
            b.jobs[id] = job
            b.order.insert(id, at: 0)
            return .success(job)
        }
        switch result {
        case .failure(let rejection): return rejection.response
        case .success(let job): return .json(200, operation(job, at: now))
        }
    }

    /// Splits an uploaded JSON Lines file into keyed requests; unreadable lines answer 400.
    static func readLines(_ bytes: [UInt8]) -> [BatchLine] {
        var lines: [BatchLine] = []
        for (i, raw) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).enumerated() {
            guard let value = try? JSONParser.parse(Array(raw)) else {
                lines.append(BatchLine(key: "line-\(i + 1)", request: nil, problem: "line \(i + 1) is not valid JSON"))
                continue
            }
            let key = value["key"]?.stringValue ?? "line-\(i + 1)"
            lines.append(BatchLine(key: key, request: value["request"], problem: value["request"] == nil ? "line \(i + 1) has no request" : nil))
        }
        return lines
    }

    /// The job after its results exist if it is due: computed once, by the first poller.
    func settled(_ id: String) async -> BatchJob? {
        let now = elapsed
        let claim = batch.withLock { b -> (BatchJob?, Bool) in
            guard var job = b.jobs[id], !job.deleted else { return (nil, false) }
            let due = job.ending == .succeed && job.cancelledAt == nil && now >= job.endsAt && job.results == nil && !job.generating
            if due {
                job.generating = true
                b.jobs[id] = job
            }
            return (job, due)
        }
        guard let job = claim.0 else { return nil }
        guard claim.1 else { return job }
        let results = answerLines(job)
        return batch.withLock { b in
            b.jobs[id]?.results = results
            b.jobs[id]?.generating = false
            return b.jobs[id]
        }
    }

    /// Answers every line as `generateContent` would, and stores the output.
    func answerLines(_ job: BatchJob) -> BatchResults {
        var out: [UInt8] = []
        var inline: [JSONValue] = []
        var succeeded = 0
        var failed = 0
        for line in job.lines {
            let outcome = answerLine(line, model: job.model)
            if outcome.isSuccess { succeeded += 1 } else { failed += 1 }
            if job.inputFile != nil {
                var o: JSONObject = ["key": .string(line.key)]
                o[outcome.isSuccess ? "response" : "error"] = outcome.value
                out += JSONWriter.bytes(.object(o))
                out.append(UInt8(ascii: "\n"))
            } else {
                inline.append(.object(["metadata": ["key": .string(line.key)], outcome.isSuccess ? "response" : "error": outcome.value]))
            }
        }
        return batch.withLock { b in
            b.stats.linesAnswered += succeeded
            b.stats.linesFailed += failed
            guard job.inputFile != nil else { return BatchResults(file: nil, inline: inline, succeeded: succeeded, failed: failed) }
            let file = FileStore.File(id: "batch-\(job.id)-output", displayName: nil, mimeType: "application/jsonl", bytes: out,
                                      createdAt: elapsed, generated: true)
            b.files.files[file.id] = file
            return BatchResults(file: file.name, inline: nil, succeeded: succeeded, failed: failed)
        }
    }

    /// One line's response body, or its error (a google.rpc.Status).
    func answerLine(_ line: BatchLine, model: String) -> (isSuccess: Bool, value: JSONValue) {
        func status(_ code: Int, _ message: String) -> JSONValue {
            ["code": JSONValue(code), "message": .string(message), "status": .string(ErrorEnvelope.canonicalStatus(code))]
        }
        guard let request = line.request, line.problem == nil else { return (false, status(400, line.problem ?? "no request")) }
        let call: ModelCall
        do {
            call = try GenerateContentSurface.parse(request, model: model)
        } catch {
            let body = try? JSONParser.parse(error.response.body)
            return (false, body?["error"] ?? status(400, "invalid request"))
        }
        let hash = call.promptHash
        let attempt = state.withLock { s in
            let previous = s.stats.prompts[hash]?.requests ?? 0
            s.stats.record(prompt: hash) {
                $0.requests += 1
                $0.batchRequests += 1
            }
            return previous
        }
        let fault = FaultPlan.fault(header: nil, prompt: call.prompt, rules: configuration.faults, seed: configuration.seed,
                                    promptHash: PromptHash.value(call.prompt), attempt: attempt)
        if let fault, fault.isErrorResponse {
            recordFault(fault, hash: hash)
            let response = errorResponse(for: fault, call: call, headers: [])
            let body = try? JSONParser.parse(response.body)
            return (false, body?["error"] ?? status(response.status, "fault \(fault.rawValue)"))
        }
        var event = SimulatorEvent(sequence: 0, arrived: elapsed, method: "BATCH", path: line.key, status: 0, outcome: "", headers: [:])
        // Batch is not a Flex or standard request: no tier in the answer, and no transport fault.
        let transportOnly: Set<FaultKind> = [.drop, .truncate, .slow, .evict, .continuation]
        let answerFault: FaultKind? = fault.flatMap { transportOnly.contains($0) ? nil : $0 }
        let response = answer(call, fault: answerFault, servingTier: .standard, continuationOffset: 0, attempt: attempt, event: &event)
        guard var body = try? JSONParser.parse(response.body) else { return (false, status(500, "internal")) }
        if case .object(var o) = body, case .object(var usage)? = o["usageMetadata"] {
            usage["serviceTier"] = nil
            o["usageMetadata"] = .object(usage)
            body = .object(o)
        }
        return (true, body)
    }

    func operation(_ job: BatchJob, at t: Double) -> JSONValue {
        let state = job.state(at: t)
        let done = !state.isLive
        var meta: JSONObject = ["@type": .string(Self.batchType), "model": .string("models/\(job.model)"), "name": .string(job.name)]
        if !job.displayName.isEmpty { meta["displayName"] = .string(job.displayName) }
        if let file = job.inputFile { meta["inputConfig"] = ["fileName": .string(file)] }
        meta["state"] = .string(state.rawValue)
        meta["createTime"] = .string(wallClock(job.createdAt))
        meta["updateTime"] = .string(wallClock(job.endTime(at: t) ?? (state == .running ? job.runningAt : job.createdAt)))
        if let end = job.endTime(at: t) { meta["endTime"] = .string(wallClock(end)) }
        let total = job.lines.count
        let succeeded = state == .succeeded ? job.results?.succeeded ?? 0 : 0
        let failed = state == .succeeded ? job.results?.failed ?? 0 : 0
        meta["batchStats"] = [
            "requestCount": .string(String(total)), "successfulRequestCount": .string(String(succeeded)),
            "failedRequestCount": .string(String(failed)), "pendingRequestCount": .string(String(done ? 0 : total)),
        ]
        var o: JSONObject = ["name": .string(job.name)]
        var output: JSONValue?
        if state == .succeeded, let results = job.results {
            if let file = results.file {
                output = ["responsesFile": .string(file)]
            } else if let inline = results.inline {
                output = ["inlinedResponses": ["inlinedResponses": .array(inline)]]
            }
        }
        if let output { meta["output"] = output }
        o["metadata"] = .object(meta)
        o["done"] = .bool(done)
        if let output, case .object(let members) = output {
            var response: JSONObject = ["@type": .string(Self.batchOutputType)]
            for m in members { response[m.key] = m.value }
            o["response"] = .object(response)
        }
        switch state {
        case .cancelled: o["error"] = ["code": 1, "message": "The batch was cancelled."]
        case .failed: o["error"] = ["code": 13, "message": "The batch failed (simulated)."]
        case .expired: o["error"] = ["code": 4, "message": "The batch expired: not completed within 48 hours."]
        default: break
        }
        return .object(o)
    }

    func getBatch(_ id: String) async -> SimHTTPResponse {
        guard let job = await settled(id) else { return ErrorEnvelope.rpc(404, message: "Batch batches/\(id) not found.") }
        return .json(200, operation(job, at: elapsed))
    }

    func listBatches(_ request: SimHTTPRequest) async -> SimHTTPResponse {
        let size = max(1, min(request.query["pageSize"].flatMap(Int.init) ?? 50, 1000))
        let start = request.query["pageToken"].flatMap(Int.init) ?? 0
        let ids = batch.withLock { b in
            b.stats.lists += 1
            return b.order.filter { b.jobs[$0]?.deleted == false }
        }
        let page = ids.dropFirst(start).prefix(size)
        var operations: [JSONValue] = []
        for id in page { if let job = await settled(id) { operations.append(operation(job, at: elapsed)) } }
        var o: JSONObject = ["operations": .array(operations)]
        if start + size < ids.count { o["nextPageToken"] = .string(String(start + size)) }
        return .json(200, .object(o))
    }

    func cancelBatch(_ id: String) -> SimHTTPResponse {
        let now = elapsed
        let found = batch.withLock { b -> Bool in
            guard var job = b.jobs[id], !job.deleted else { return false }
            // Due but not yet polled counts as ended: a late cancel does not undo a finished batch.
            if job.state(at: now).isLive, now < job.endsAt {
                job.cancelledAt = now
                b.jobs[id] = job
                b.stats.cancelled += 1
            }
            return true
        }
        return found ? .json(200, .object([:])) : ErrorEnvelope.rpc(404, message: "Batch batches/\(id) not found.")
    }

    func deleteBatch(_ id: String) -> SimHTTPResponse {
        let found = batch.withLock { b -> Bool in
            guard b.jobs[id]?.deleted == false else { return false }
            b.jobs[id]?.deleted = true
            b.stats.deleted += 1
            return true
        }
        return found ? .json(200, .object([:])) : ErrorEnvelope.rpc(404, message: "Batch batches/\(id) not found.")
    }
}
