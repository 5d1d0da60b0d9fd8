/// A served answer.
public struct GenerationResult: Sendable, Equatable {
    public enum Completion: String, Sendable {
        /// `completed` / `STOP`.
        case complete
        /// Cut by `max_output_tokens`: `incomplete` / `MAX_TOKENS` (the text is partial).
        case truncated
    }

    public var text: String
    public var completion: Completion
    public var usage: TokenUsage
    /// The tier that served it, from `x-gemini-service-tier` (priority may come back as standard).
    public var servedTier: ServiceTier?
    /// Requests it took: more than 1 when Interactions asked for continuation.
    public var hops: Int

    public init(text: String, completion: Completion, usage: TokenUsage, servedTier: ServiceTier?, hops: Int = 1) {
        self.text = text
        self.completion = completion
        self.usage = usage
        self.servedTier = servedTier
        self.hops = hops
    }
}
