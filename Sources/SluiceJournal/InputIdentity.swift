#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SluiceJSON

/// Identifies an input file cheaply but reliably: size plus a hash of its first and last MiB.
public enum InputIdentity {
    public static func of(path: String) throws(JournalError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw JournalError(.inputUnreadable, "\(path): cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        let size = Int64(st.st_size)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        for start in size > Int64(2 * chunk) ? [Int64(0), size - Int64(chunk)] : [Int64(0)] {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, size > Int64(2 * chunk) ? chunk : Int(size), off_t(start)) }
            hash = StableHash.fnv1a(buffer.prefix(max(0, n)), seed: hash)
        }
        return "size=\(size) fnv=\(String(hash, radix: 16))"
    }
}
