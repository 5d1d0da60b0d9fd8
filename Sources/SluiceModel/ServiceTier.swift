/// Service tiers: Flex is half price and sheddable; priority may be served as standard.
public enum ServiceTier: String, Sendable, CaseIterable, Codable {
    case flex, standard, priority
}
