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
