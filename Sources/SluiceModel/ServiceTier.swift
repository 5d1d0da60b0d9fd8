/// Service tiers: Flex is half price and sheddable; priority may be served as standard.
public enum ServiceTier: String, Sendable, CaseIterable, Codable {
    case flex, standard, priority
    /// Not a tier a request asks for: how answers of the Batch API are billed (half of
    /// standard, as Flex).
    case batch
}
