import SluiceModel

/// USD per million tokens at the standard tier (paid tier, prompts ≤ 200k tokens), from
/// gemini-api.md §6.2. Flex and batch bill half of standard; priority about 1.8×. Thinking
/// tokens bill at the output rate. Cached input (a subset of the input count) bills at the
/// cached rate where the table has one — times the tier's multiplier, which is an inference:
/// the pricing page gives cached rates for standard only. Edit this table when prices change.
public struct GeminiPrices: PriceBook {
    public init() {}

    public struct Price: Sendable, Equatable {
        public var input: Double
        public var output: Double
        /// Cached input per 1M tokens; nil: cached tokens bill as input.
        public var cached: Double?

        public init(input: Double, output: Double, cached: Double? = nil) {
            self.input = input
            self.output = output
            self.cached = cached
        }
    }

    public static let standard: [String: Price] = [
        "gemini-3.5-flash": Price(input: 1.50, output: 9.00, cached: 0.15),
        "gemini-3.1-flash-lite": Price(input: 0.25, output: 1.50, cached: 0.025),
        "gemini-3.1-pro-preview": Price(input: 2.00, output: 12.00),
        "gemini-3-flash-preview": Price(input: 0.50, output: 3.00, cached: 0.05),
        "gemini-2.5-pro": Price(input: 1.25, output: 10.00),
        "gemini-2.5-flash": Price(input: 0.30, output: 2.50),
        "gemini-2.5-flash-lite": Price(input: 0.10, output: 0.40),
    ]

    public static func multiplier(_ tier: ServiceTier) -> Double {
        switch tier {
        case .flex, .batch: 0.5
        case .standard: 1
        case .priority: 1.8
        }
    }

    /// Cost in USD of `usage` billed at `tier`; nil for a model not in the table.
    public func cost(model: String, tier: ServiceTier, usage: TokenUsage) -> Double? {
        guard let price = Self.standard[model] else { return nil }
        let m = Self.multiplier(tier)
        let cached = price.cached == nil ? 0 : min(max(0, usage.cached), usage.input)
        let input = Double(usage.input - cached) * price.input + Double(cached) * (price.cached ?? price.input)
        return (input + Double(usage.output + usage.thought) * price.output) * m / 1_000_000
    }
}
