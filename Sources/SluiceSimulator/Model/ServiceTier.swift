/// The service tiers both surfaces accept.
public enum ServiceTier: String, Sendable, CaseIterable, Codable {
    case flex, standard, priority
}
