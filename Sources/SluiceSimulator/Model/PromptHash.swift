import SluiceJSON

/// Stable 64-bit FNV-1a hash of a prompt's text: the same in every process, unlike `Hasher`,
/// so tests can predict answers and look up stats by prompt.
public enum PromptHash {
    public static func value(_ text: String) -> UInt64 { StableHash.fnv1a(text.utf8) }

    /// The key used in `/_sim/stats`: 16 lowercase hex digits.
    public static func hex(_ text: String) -> String { StableHash.hex(text) }
}

/// SplitMix64: a tiny seeded generator, deterministic across platforms.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A uniform draw in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
