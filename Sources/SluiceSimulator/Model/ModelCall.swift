import SluiceJSON

/// A validated model request from either surface, in the terms the simulator answers it.
struct ModelCall: Sendable {
    enum Surface: String, Sendable { case interactions, generateContent = "generate_content" }

    var surface: Surface
    var model: String
    /// The user text the answer is derived from: every user turn's text blocks, joined by newlines.
    var prompt: String
    var system: String?
    var schema: JSONValue?
    var tier: ServiceTier
    var maxOutputTokens: Int?
    var thinkingLevel: String?
    var stream: Bool
    var continuationToken: String?

    var promptHash: String { PromptHash.hex(prompt) }

    /// Tokens billed as input for one hop: prompt and system instruction.
    var inputTokens: Int { AnswerGenerator.tokens(prompt) + AnswerGenerator.tokens(system ?? "") }
}

/// A request the surface refused, already in that surface's envelope.
struct SurfaceRejection: Error {
    var response: SimHTTPResponse
}
