import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SluiceJSON
import SluiceModel

/// The Batch API and the Files API's resumable upload (gemini-next.md §2), on the same lanes
/// and key as the online calls.
extension GeminiClient: BatchClient {
    /// The SDK's chunk size (8 MiB).
    static let uploadChunk = 8 << 20

    public func requestLine(key: String, request: GenerationRequest) -> [UInt8] {
        var body = WireFormat.generateContentBody(request).objectValue ?? JSONObject()
        // A batch is billed as a batch: no online tier inside it.
        body["serviceTier"] = nil
        var bytes = JSONWriter.bytes(["key": .string(key), "request": .object(body)])
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    public func upload(path: String, displayName: String) async throws(ModelError) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ModelError(.invalidRequest, message: "cannot read \(path)") }
        defer { try? handle.close() }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let start = await exchange(.POST, "\(configuration.baseURL)/upload/v1beta/files", headers: [
            ("X-Goog-Upload-Protocol", "resumable"), ("X-Goog-Upload-Command", "start"),
            ("X-Goog-Upload-Header-Content-Length", String(size)), ("X-Goog-Upload-Header-Content-Type", "application/jsonl"),
            ("content-type", "application/json"),
        ], body: JSONWriter.bytes(["file": ["display_name": .string(displayName)]]))
        let started = try Self.checked(start)
        guard var url = started.headers.first(name: "x-goog-upload-url") else {
            throw ModelError(.badAnswer, message: "the upload start returned no x-goog-upload-url")
        }
        // As the SDK does: the session URL's path and query, on the configured host.
        if let session = URLComponents(string: url), let base = URLComponents(string: configuration.baseURL) {
            var joined = session
            joined.scheme = base.scheme
            joined.host = base.host
            joined.port = base.port
            url = joined.string ?? url
        }
        var offset = 0
        while true {
            let chunk = (try? handle.read(upToCount: Self.uploadChunk)) ?? Data()
            let last = offset + chunk.count >= size
            var sent: HTTPClient.Response?
            // A chunk counts only once the answer carries an upload status (the SDK's rule).
            for attempt in 0..<8 {
                let reply = await exchange(.POST, url, headers: [
                    ("X-Goog-Upload-Command", last ? "upload, finalize" : "upload"), ("X-Goog-Upload-Offset", String(offset)),
                ], body: Array(chunk), withKey: false)
                if case .success(let response) = reply, response.headers.first(name: "x-goog-upload-status") != nil {
                    sent = response
                    break
                }
                try? await Task.sleep(for: .milliseconds(200 << attempt))
            }
            guard let response = sent else { throw ModelError(.transient, message: "upload of \(path) failed at byte \(offset) after 8 attempts") }
            let status = response.headers.first(name: "x-goog-upload-status")
            offset += chunk.count
            if status == "final" {
                let (body, _) = try Self.checked(.success(response), json: true)
                guard let name = body["file"]?["name"]?.stringValue else { throw ModelError(.badAnswer, message: "the finished upload named no file") }
                return name
            }
            if status != "active" || last {
                let (body, _) = try Self.checked(.success(response), json: true)
                throw ModelError(.badAnswer, message: "upload of \(path) ended with status \(status ?? "none") at byte \(offset): \(JSONWriter.string(body))")
            }
        }
    }

    public func createBatch(model: String, file: String, displayName: String) async throws(ModelError) -> BatchJobStatus {
        let body: JSONValue = ["batch": ["displayName": .string(displayName), "inputConfig": ["fileName": .string(file)]]]
        let reply = await exchange(.POST, "\(configuration.baseURL)/v1beta/models/\(model):batchGenerateContent",
                                   headers: [("content-type", "application/json")], body: JSONWriter.bytes(body))
        do {
            return Self.status(try Self.checked(reply, json: true).0)
        } catch where error.status == 429 && error.kind != .dailyQuota {
            // At create, a 429 is the enqueued-token (or live-batch) cap: wait, not stop. Online,
            // a bare 429 means depleted credits; here only a message that says so does.
            let text = error.message.lowercased()
            if text.contains("credit") || text.contains("billing") || text.contains("prepayment") { throw error }
            var full = error
            full.kind = .rateLimited
            throw full
        }
    }

    public func batchStatus(name: String) async throws(ModelError) -> BatchJobStatus {
        Self.status(try Self.checked(await exchange(.GET, "\(configuration.baseURL)/v1beta/\(name)"), json: true).0)
    }

    public func findBatch(displayName: String) async throws(ModelError) -> BatchJobStatus? {
        var token: String?
        for _ in 0..<100 {
            let query = "pageSize=100" + (token.map { "&pageToken=\($0)" } ?? "")
            let (page, _) = try Self.checked(await exchange(.GET, "\(configuration.baseURL)/v1beta/batches?\(query)"), json: true)
            for op in page["operations"]?.arrayValue ?? [] where op["metadata"]?["displayName"]?.stringValue == displayName {
                return Self.status(op)
            }
            guard let next = page["nextPageToken"]?.stringValue, !next.isEmpty else { return nil }
            token = next
        }
        return nil
    }

    public func cancelBatch(name: String) async throws(ModelError) {
        _ = try Self.checked(await exchange(.POST, "\(configuration.baseURL)/v1beta/\(name):cancel", headers: [("content-type", "application/json")], body: Array("{}".utf8)))
    }

    public func download(file: String, to path: String) async throws(ModelError) {
        let id = file.hasPrefix("files/") ? String(file.dropFirst(6)) : file
        let url = "\(configuration.baseURL)/download/v1beta/files/\(id):download?alt=media"
        let lane = lanes.lease()
        defer { lanes.release(lane.index) }
        do {
            let request = try request(.GET, url).get()
            let delegate = try FileDownloadDelegate(path: path)
            let progress = try await lane.client.execute(request: request, delegate: delegate,
                                                          deadline: .now() + .nanoseconds(Int64(configuration.requestTimeout.seconds * 1e9))).futureResult.get()
            let status = Int(progress.head.status.code)
            guard (200..<300).contains(status) else {
                let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
                throw WireFormat.classifyError(status: status, body: try? JSONParser.parse(text), retryAfterHeader: nil)
            }
        } catch let error as ModelError {
            throw error
        } catch {
            throw transportError(error)
        }
    }

    public func readResult(line: [UInt8], request: (String) -> GenerationRequest?) -> (key: String, result: Result<GenerationResult, ModelError>)? {
        guard let value = try? JSONParser.parse(line), let key = value["key"]?.stringValue else { return nil }
        if let error = value["error"] {
            let status = error["code"]?.intValue ?? 500
            return (key, .failure(WireFormat.classifyError(status: status, body: ["error": error], retryAfterHeader: nil)))
        }
        guard let response = value["response"] else {
            return (key, .failure(ModelError(.badAnswer, message: "the result line has neither response nor error")))
        }
        do {
            let (text, completion, usage) = try WireFormat.readGenerateContent(response)
            let result = GenerationResult(text: text, completion: completion, usage: usage, servedTier: .batch)
            guard let original = request(key) else { return (key, .success(result)) }
            return (key, check(result, original))
        } catch {
            return (key, .failure(error))
        }
    }

    // MARK: - Helpers

    static func status(_ op: JSONValue) -> BatchJobStatus {
        let meta = op["metadata"]
        let raw = (meta?["state"]?.stringValue ?? "").replacingOccurrences(of: "JOB_STATE_", with: "").replacingOccurrences(of: "BATCH_STATE_", with: "")
        let state: BatchJobStatus.State = switch raw {
        case "RUNNING": .running
        case "SUCCEEDED": .succeeded
        case "FAILED": .failed
        case "CANCELLED", "CANCELLING": raw == "CANCELLED" ? .cancelled : .running
        case "EXPIRED": .expired
        default: .pending
        }
        // The output is under `response` and mirrored in `metadata.output` (read both).
        let file = op["response"]?["responsesFile"]?.stringValue ?? meta?["output"]?["responsesFile"]?.stringValue
        return BatchJobStatus(name: op["name"]?.stringValue ?? meta?["name"]?.stringValue ?? "", displayName: meta?["displayName"]?.stringValue ?? "",
                              state: state, resultsFile: file, requestCount: meta?["batchStats"]?["requestCount"]?.stringValue.flatMap(Int.init),
                              error: op["error"]?["message"]?.stringValue)
    }

    /// The response when its status is 2xx, else the classified error; `json`: with its body parsed.
    static func checked(_ reply: Result<HTTPClient.Response, ModelError>) throws(ModelError) -> HTTPClient.Response {
        let response = try reply.get()
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            let body = response.body.flatMap { try? JSONParser.parse($0.readableBytesView) }
            throw WireFormat.classifyError(status: status, body: body, retryAfterHeader: response.headers.first(name: "retry-after"))
        }
        return response
    }

    static func checked(_ reply: Result<HTTPClient.Response, ModelError>, json: Bool) throws(ModelError) -> (JSONValue, HTTPClient.Response) {
        let response = try checked(reply)
        let bytes = response.body ?? ByteBuffer()
        guard let value = try? JSONParser.parse(bytes.readableBytesView) else {
            throw ModelError(.transport, status: Int(response.status.code), message: "the response body is not valid JSON (\(bytes.readableBytes) bytes)")
        }
        return (value, response)
    }

    /// One request of any method on a lane, answered within five minutes.
    func exchange(_ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
                  withKey: Bool = true) async -> Result<HTTPClient.Response, ModelError> {
        let lane = lanes.lease()
        defer { lanes.release(lane.index) }
        let built: HTTPClient.Request
        switch request(method, url, headers: headers, body: body, withKey: withKey) {
        case .success(let r): built = r
        case .failure(let error): return .failure(error)
        }
        do {
            return .success(try await lane.client.execute(request: built, delegate: ResponseAccumulator(request: built, maxBodySize: 64 << 20),
                                                          deadline: .now() + .seconds(300)).futureResult.get())
        } catch {
            return .failure(transportError(error))
        }
    }
}
