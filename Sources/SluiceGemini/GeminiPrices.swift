import SluiceModel

/// USD per million tokens at the standard tier (paid tier, prompts ≤ 200k tokens), from
/// gemini-api.md §6.2. Flex and batch bill half of standard; priority about 1.8×. Thinking
/// tokens bill at the output rate. Edit this table when prices change.
public struct GeminiPrices: PriceBook {
    public init() {}

    public struct Price: Sendable, Equatable {
        public var input: Double
        public var output: Double
    }

    public static let standard: [String: Price] = [
        "gemini-3.5-flash": Price(input: 1.50, output: 9.00),
        "gemini-3.1-flash-lite": Price(input: 0.25, output: 1.50),
        "gemini-3.1-pro-preview": Price(input: 2.00, output: 12.00),
        "gemini-3-flash-preview": Price(input: 0.50, output: 3.00),
        "gemini-2.5-pro": Price(input: 1.25, output: 10.00),
        "gemini-2.5-flash": Price(input: 0.30, output: 2.50),
        "gemini-2.5-flash-lite": Price(input: 0.10, output: 0.40),
    ]

    public static func multiplier(_ tier: ServiceTier) -> Double {
        switch tier {
        case .flex: 0.5
        case .standard: 1
        case .priority: 1.8
        }
    }

    /// Cost in USD of `usage` billed at `tier`; nil for a model not in the table.
    public func cost(model: String, tier: ServiceTier, usage: TokenUsage) -> Double? {
        guard let price = Self.standard[model] else { return nil }
        let m = Self.multiplier(tier)
        return (Double(usage.input) * price.input + Double(usage.output + usage.thought) * price.output) * m / 1_000_000
    }
}
