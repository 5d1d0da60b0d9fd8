import Synchronization

/// Serves requests within each tier's capacity, queues the excess, sheds what the queue
/// cannot hold, and evicts requests in service when a `CapacitySchedule` lowers the capacity.
/// A thin shell over `TierQueueState`: a mutex and continuations.
final class FlexScheduler: Sendable {
    /// How a request's time in service ended.
    enum ServiceOutcome: Equatable, Sendable { case completed, evicted }

    private struct Service: Sendable {
        enum Phase: Sendable {
            case running
            case parked(CheckedContinuation<ServiceOutcome, Never>)
            case finished(ServiceOutcome)
        }
        var tier: ServiceTier
        var phase: Phase
    }

    private struct State: Sendable {
        var tiers: [ServiceTier: TierQueueState]
        var continuations: [UInt64: CheckedContinuation<Admission, Never>] = [:]
        var nextTicket: UInt64 = 0
        /// Requests in service, by id (ids grow: the newest are evicted first).
        var services: [UInt64: Service] = [:]
        var nextService: UInt64 = 0
        /// The schedule point applied last.
        var scheduleIndex: Int?
    }
    private let state: Mutex<State>
    private let schedule: CapacitySchedule?
    private let timeScale: Double

    init(configuration: SimulatorConfiguration) {
        var tiers: [ServiceTier: TierQueueState] = [:]
        for tier in ServiceTier.allCases { tiers[tier] = TierQueueState(model: configuration.model(for: tier)) }
        state = Mutex(State(tiers: tiers))
        schedule = configuration.flexCapacitySchedule
        timeScale = configuration.timeScale
    }

    enum Admission: Equatable { case admitted, shed }

    /// The tier that serves a request: priority over its own capacity is served as standard.
    func servingTier(for requested: ServiceTier) -> ServiceTier {
        guard requested == .priority else { return requested }
        return state.withLock { $0.tiers[.priority]!.isSaturated } ? .standard : .priority
    }

    /// Applies the capacity schedule point in force at `elapsed`, if it changed: resumes the
    /// evicted requests and the ones admitted from the queue.
    func applySchedule(elapsed: Double) {
        guard let schedule, let index = schedule.index(at: elapsed, timeScale: timeScale) else { return }
        let (evicted, admitted) = state.withLock { s -> ([CheckedContinuation<ServiceOutcome, Never>], [CheckedContinuation<Admission, Never>]) in
            let first = (s.scheduleIndex ?? -1) + 1
            guard first <= index else { return ([], []) }
            s.scheduleIndex = index
            var resumed: [CheckedContinuation<ServiceOutcome, Never>] = []
            var admitted: [CheckedContinuation<Admission, Never>] = []
            // Every point passed since the last call, in order: a drop and the rise after it
            // evict even when no request came between them.
            for point in schedule.points[first...index] {
                let (evict, admit) = s.tiers[.flex]!.setCapacity(point.capacity)
                let victims = s.services.filter { id, service in
                    if case .finished = service.phase { return false }
                    return service.tier == .flex
                }.keys.sorted(by: >).prefix(evict)
                s.tiers[.flex]!.evicted(victims.count)
                for id in victims {
                    if case .parked(let c) = s.services[id]!.phase {
                        resumed.append(c)
                        s.services[id] = nil
                    } else {
                        s.services[id]!.phase = .finished(.evicted)
                    }
                }
                admitted += admit.compactMap { s.continuations.removeValue(forKey: $0) }
            }
            return (resumed, admitted)
        }
        for c in evicted { c.resume(returning: .evicted) }
        for c in admitted { c.resume(returning: .admitted) }
    }

    /// Waits for a server slot in `tier`, or returns `.shed` at once when the queue is full.
    /// The arrival and the parking of the continuation happen under one lock, so a release
    /// can never miss a waiter.
    func admit(_ tier: ServiceTier, elapsed: Double) async -> Admission {
        applySchedule(elapsed: elapsed)
        return await withCheckedContinuation { (continuation: CheckedContinuation<Admission, Never>) in
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

    /// Holds an admitted request's slot for `seconds`, then frees it for the next waiter.
    /// `evict`: the request is dropped (by a fault) at the end of that time instead of answered.
    /// A schedule drop may evict it earlier.
    func serve(_ tier: ServiceTier, seconds: Double, evict: Bool = false) async -> ServiceOutcome {
        let id = state.withLock { s -> UInt64 in
            s.nextService += 1
            s.services[s.nextService] = Service(tier: tier, phase: .running)
            return s.nextService
        }
        return await withTaskGroup(of: Void.self) { group in
            group.addTask {
                if seconds > 0 { try? await Task.sleep(for: .milliseconds(Int64((seconds * 1000).rounded()))) }
                self.finish(id, evict ? .evicted : .completed)
            }
            let outcome = await withCheckedContinuation { (c: CheckedContinuation<ServiceOutcome, Never>) in
                let ready = state.withLock { s -> ServiceOutcome? in
                    guard let service = s.services[id] else { return .evicted }
                    if case .finished(let outcome) = service.phase {
                        s.services[id] = nil
                        return outcome
                    }
                    s.services[id]!.phase = .parked(c)
                    return nil
                }
                if let ready { c.resume(returning: ready) }
            }
            group.cancelAll()
            return outcome
        }
    }

    /// The service time of `id` is over: free its slot (unless a schedule drop took it).
    private func finish(_ id: UInt64, _ outcome: ServiceOutcome) {
        let (parked, next) = state.withLock { s -> (CheckedContinuation<ServiceOutcome, Never>?, CheckedContinuation<Admission, Never>?) in
            guard let service = s.services[id] else { return (nil, nil) }
            if case .finished = service.phase { return (nil, nil) }  // evicted by the schedule
            let ticket = s.tiers[service.tier]!.finish(served: outcome == .completed)
            let next = ticket.flatMap { s.continuations.removeValue(forKey: $0) }
            if case .parked(let c) = service.phase {
                s.services[id] = nil
                return (c, next)
            }
            s.services[id]!.phase = .finished(outcome)
            return (nil, next)
        }
        parked?.resume(returning: outcome)
        next?.resume(returning: .admitted)
    }

    struct TierSnapshot: Sendable {
        var inService: Int
        var queued: Int
        var peakQueued: Int
        var served: Int
        var shed: Int
        var evicted: Int
        var capacity: Int
        var queueLimit: Int
    }

    func snapshot() -> [ServiceTier: TierSnapshot] {
        state.withLock { s in
            s.tiers.mapValues {
                TierSnapshot(inService: $0.inService, queued: $0.queued, peakQueued: $0.peakWaiting, served: $0.served,
                             shed: $0.shed, evicted: $0.evicted, capacity: $0.model.capacity, queueLimit: $0.model.queueLimit)
            }
        }
    }
}
