import SluiceJSON

/// One prompt to send, independent of the surface that carries it.
public struct GenerationRequest: Sendable, Equatable {
    public var model: String
    public var prompt: String
    public var system: String?
    /// JSON Schema of the answer; nil for plain text.
    public var schema: JSONValue?
    public var tier: ServiceTier
    public var maxOutputTokens: Int?
    public var temperature: Double?
    public var thinkingLevel: String?
    /// Whether the client refuses an answer that is cut, not JSON, or not conforming to
    /// `schema` (`badAnswer`, retried as it is). False for a pack: the caller judges the answer
    /// itself — one bad item must not cost the others their answers, and a cut pack is split,
    /// not sent again as it was.
    public var checksSchema = true

    public init(model: String, prompt: String, system: String? = nil, schema: JSONValue? = nil, tier: ServiceTier = .flex,
                maxOutputTokens: Int? = nil, temperature: Double? = nil, thinkingLevel: String? = nil) {
        self.model = model
        self.prompt = prompt
        self.system = system
        self.schema = schema
        self.tier = tier
        self.maxOutputTokens = maxOutputTokens
        self.temperature = temperature
        self.thinkingLevel = thinkingLevel
    }
}
