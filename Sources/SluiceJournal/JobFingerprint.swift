/// What identifies a job: a journal answers for exactly one combination of these.
public struct JobFingerprint: Sendable, Equatable {
    /// Component name → value, compared one by one so a mismatch can say what changed.
    public var components: [(name: String, value: String)]

    public init(_ components: [(String, String)]) { self.components = components.map { (name: $0.0, value: $0.1) } }

    public static func == (a: JobFingerprint, b: JobFingerprint) -> Bool {
        a.components.map(\.name) == b.components.map(\.name) && a.components.map(\.value) == b.components.map(\.value)
    }

    /// Human descriptions of what differs from `stored`.
    public func differences(from stored: [String: String]) -> [String] {
        components.compactMap { c in
            guard let old = stored[c.name] else { return "\(c.name) (not recorded)" }
            guard old != c.value else { return nil }
            let short = { (s: String) in s.count > 60 ? String(s.prefix(57)) + "…" : s }
            return "\(c.name) changed (\(short(old)) → \(short(c.value)))"
        }
    }
}
