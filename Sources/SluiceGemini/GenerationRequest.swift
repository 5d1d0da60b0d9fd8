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

/// Token usage as billed: output excludes thinking, which is billed at the output rate.
public struct TokenUsage: Sendable, Equatable {
    public var input = 0
    public var output = 0
    public var thought = 0
    public var cached = 0

    public init(input: Int = 0, output: Int = 0, thought: Int = 0, cached: Int = 0) {
        self.input = input
        self.output = output
        self.thought = thought
        self.cached = cached
    }

    public static func + (a: TokenUsage, b: TokenUsage) -> TokenUsage {
        TokenUsage(input: a.input + b.input, output: a.output + b.output, thought: a.thought + b.thought, cached: a.cached + b.cached)
    }
    public static func += (a: inout TokenUsage, b: TokenUsage) { a = a + b }
}

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
