/// What a provider charges: the dispatcher's cost cap, the dry-run estimate and the report ask it.
public protocol PriceBook: Sendable {
    /// Cost in USD of `usage` billed at `tier`; nil for a model the book does not price.
    func cost(model: String, tier: ServiceTier, usage: TokenUsage) -> Double?
}
