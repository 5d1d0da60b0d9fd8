import Synchronization

/// Why a run stops sending before the end. The first reason wins.
public enum StopReason: Sendable, Equatable {
    /// Daily quota or billing: resumable later with the same command (exit 75).
    case quota(String)
    /// SIGINT/SIGTERM: resumable (exit 75).
    case interrupted
    /// The cost cap (USD) would be exceeded: resumable with a larger budget (exit 75).
    case budget(cap: Double)
    /// The job cannot work as configured (bad key, unknown model): exit 1.
    case fatal(String)
    /// The server's TLS certificate is not trusted: exit 1; the caller says how to trust it.
    case untrustedServer(String)
}

/// Set once by whoever sees a reason to stop; read by the dispatch loop and retry sleeps.
public final class StopSignal: Sendable {
    private let reason = Mutex<StopReason?>(nil)
    public init() {}
    public func stop(_ r: StopReason) { reason.withLock { if $0 == nil { $0 = r } } }
    public var current: StopReason? { reason.withLock { $0 } }
    public var isSet: Bool { current != nil }
}
