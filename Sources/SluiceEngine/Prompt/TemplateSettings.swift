import SluiceJSON

/// What a template's front matter may set; command-line flags override each one.
public struct TemplateSettings: Sendable, Equatable {
    public var system: String?
    public var schema: JSONValue?
    public var model: String?
    public var tier: String?
    public var api: String?
    /// `mode: flex | batch`.
    public var mode: String?
    public var column: String?
    public var maxOutputTokens: Int?
    public var temperature: Double?
    public var thinkingLevel: String?
    /// Records per request (`--pack`); `packAuto`: `pack: auto`.
    public var pack: Int?
    public var packAuto = false

    public init() {}

    static let keys: Set<String> = ["system", "schema", "model", "tier", "api", "mode", "column", "max_output_tokens", "temperature", "thinking_level", "pack"]
}
