import Synchronization

/// Serves requests within each tier's capacity, queues the excess and sheds what the queue
/// cannot hold. A thin shell over `TierQueueState`: a mutex and continuations.
final class FlexScheduler: Sendable {
    private struct State: Sendable {
        var tiers: [ServiceTier: TierQueueState]
        var continuations: [UInt64: CheckedContinuation<Admission, Never>] = [:]
        var nextTicket: UInt64 = 0
    }
    private let state: Mutex<State>

    init(configuration: SimulatorConfiguration) {
        var tiers: [ServiceTier: TierQueueState] = [:]
        for tier in ServiceTier.allCases { tiers[tier] = TierQueueState(model: configuration.model(for: tier)) }
        state = Mutex(State(tiers: tiers))
    }

    enum Admission: Equatable { case admitted, shed }

    /// The tier that serves a request: priority over its own capacity is served as standard.
    func servingTier(for requested: ServiceTier) -> ServiceTier {
        guard requested == .priority else { return requested }
        return state.withLock { $0.tiers[.priority]!.isSaturated } ? .standard : .priority
    }

    /// Waits for a server slot in `tier`, or returns `.shed` at once when the queue is full.
    /// The arrival and the parking of the continuation happen under one lock, so a release
    /// can never miss a waiter.
    func admit(_ tier: ServiceTier) async -> Admission {
        await withCheckedContinuation { (continuation: CheckedContinuation<Admission, Never>) in
            let immediate: Admission? = state.withLock { s in
                s.nextTicket += 1
                let ticket = s.nextTicket
                switch s.tiers[tier]!.arrive(ticket: ticket) {
                case .serve: return .admitted
                case .shed: return .shed
                case .wait:
                    s.continuations[ticket] = continuation
                    return nil
                }
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }

    /// Frees the slot taken by `admit`, handing it straight to the next waiter.
    func release(_ tier: ServiceTier) {
        let next = state.withLock { s -> CheckedContinuation<Admission, Never>? in
            guard let ticket = s.tiers[tier]!.finish() else { return nil }
            return s.continuations.removeValue(forKey: ticket)
        }
        next?.resume(returning: .admitted)
    }

    struct TierSnapshot: Sendable {
        var inService: Int
        var queued: Int
        var peakQueued: Int
        var served: Int
        var shed: Int
        var capacity: Int
        var queueLimit: Int
    }

    func snapshot() -> [ServiceTier: TierSnapshot] {
        state.withLock { s in
            s.tiers.mapValues {
                TierSnapshot(inService: $0.inService, queued: $0.queued, peakQueued: $0.peakWaiting, served: $0.served,
                             shed: $0.shed, capacity: $0.model.capacity, queueLimit: $0.model.queueLimit)
            }
        }
    }
}
