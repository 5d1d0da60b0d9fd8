import SluiceJSON

/// The simulated Files API: resumable uploads in progress and stored files (uploaded inputs
/// and generated batch outputs). Pure; the simulator's lock guards it.
struct FileStore: Sendable {
    struct Upload: Sendable {
        var displayName: String?
        var mimeType: String
        var declaredSize: Int
        var bytes: [UInt8] = []
    }

    struct File: Sendable {
        var id: String
        var name: String { "files/\(id)" }
        var displayName: String?
        var mimeType: String
        var bytes: [UInt8]
        var createdAt: Double
        /// Only batch outputs can be downloaded (as on the real service).
        var generated: Bool

        func json(wallClock: (Double) -> String, expiry: Double) -> JSONValue {
            var o: JSONObject = ["name": .string(name)]
            if let displayName { o["displayName"] = .string(displayName) }
            o["mimeType"] = .string(mimeType)
            o["sizeBytes"] = .string(String(bytes.count))
            o["createTime"] = .string(wallClock(createdAt))
            o["updateTime"] = .string(wallClock(createdAt))
            o["expirationTime"] = .string(wallClock(createdAt + expiry))
            o["sha256Hash"] = .string(String(PromptHash.value(String(decoding: bytes, as: UTF8.self)), radix: 16))
            o["uri"] = .string("https://generativelanguage.googleapis.com/v1beta/\(name)")
            o["state"] = "ACTIVE"
            o["source"] = generated ? "GENERATED" : "UPLOADED"
            return .object(o)
        }
    }

    var uploads: [String: Upload] = [:]
    var files: [String: File] = [:]
    var nextID = 0

    mutating func newID(_ prefix: String) -> String {
        nextID += 1
        return prefix + String(UInt64(nextID) &* 0x9E37_79B9_7F4A_7C15 >> 20, radix: 36)
    }
}
