/// Opaque-looking continuation tokens that carry the prompt hash and the offset to resume at.
enum ContinuationToken {
    static func make(promptHash: String, offset: Int) -> String { "ct1.\(promptHash).\(offset)" }

    /// The offset encoded in `token`, if it belongs to this prompt.
    static func offset(_ token: String, promptHash: String) -> Int? {
        let parts = token.split(separator: ".")
        guard parts.count == 3, parts[0] == "ct1", parts[1] == promptHash, let offset = Int(parts[2]), offset >= 0 else { return nil }
        return offset
    }
}
