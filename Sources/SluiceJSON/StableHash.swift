/// 64-bit FNV-1a: the same in every process (unlike `Hasher`), so journals, simulator stats and
/// tests agree on a prompt's hash.
public enum StableHash {
    public static func fnv1a(_ bytes: some Sequence<UInt8>, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
        var hash = seed
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// 16 lowercase hex digits of the hash of `text`'s UTF-8.
    public static func hex(_ text: String) -> String {
        let s = String(fnv1a(text.utf8), radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
