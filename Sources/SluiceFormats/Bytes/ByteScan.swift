/// Finds the first of a few byte values eight bytes at a time (SWAR: a word's bytes equal to `b`
/// are the zero bytes of `word ^ (b × 0x0101…)`), so the CSV reader and writer do not test every
/// byte of long fields one by one.
enum ByteScan {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    @inline(__always) private static func zeroBytes(_ v: UInt64) -> UInt64 { (v &- ones) & ~v & highs }

    /// Index of the first byte in `buffer[from...]` equal to `a`, `b` or `c`; `buffer.count` if none.
    @inline(__always)
    static func firstOf(_ a: UInt8, _ b: UInt8, _ c: UInt8, in buffer: UnsafeRawBufferPointer, from start: Int = 0) -> Int {
        var i = start
        let n = buffer.count
        guard let base = buffer.baseAddress else { return n }
        let ma = UInt64(a) &* ones, mb = UInt64(b) &* ones, mc = UInt64(c) &* ones
        while i + 8 <= n {
            let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let hit = zeroBytes(word ^ ma) | zeroBytes(word ^ mb) | zeroBytes(word ^ mc)
            if hit != 0 { return i + hit.trailingZeroBitCount / 8 }
            i += 8
        }
        while i < n {
            let x = buffer[i]
            if x == a || x == b || x == c { return i }
            i += 1
        }
        return n
    }

    /// Whether `buffer` holds `a`, `b`, `c` or `d`.
    @inline(__always)
    static func contains(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, in buffer: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let n = buffer.count
        guard let base = buffer.baseAddress else { return false }
        let ma = UInt64(a) &* ones, mb = UInt64(b) &* ones, mc = UInt64(c) &* ones, md = UInt64(d) &* ones
        while i + 8 <= n {
            let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            if zeroBytes(word ^ ma) | zeroBytes(word ^ mb) | zeroBytes(word ^ mc) | zeroBytes(word ^ md) != 0 { return true }
            i += 8
        }
        while i < n {
            let x = buffer[i]
            if x == a || x == b || x == c || x == d { return true }
            i += 1
        }
        return false
    }

    /// Whether the bytes hold anything but ASCII, and whether they hold a NUL, in one pass.
    @inline(__always)
    static func classify(_ buffer: UnsafeRawBufferPointer) -> (nonASCII: Bool, nul: Bool) {
        var i = 0
        let n = buffer.count
        guard let base = buffer.baseAddress else { return (false, false) }
        var acc: UInt64 = 0
        var zeros: UInt64 = 0
        while i + 8 <= n {
            let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            acc |= word
            zeros |= zeroBytes(word)
            i += 8
        }
        while i < n {
            acc |= UInt64(buffer[i])
            if buffer[i] == 0 { zeros = 1 }
            i += 1
        }
        return (acc & highs != 0, zeros != 0)
    }
}
