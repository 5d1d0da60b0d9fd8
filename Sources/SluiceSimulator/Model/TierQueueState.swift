/// Pure state of one tier's servers and queue: who is served, who waits, who is shed.
/// The `FlexScheduler` shell turns its actions into resumed continuations.
struct TierQueueState: Sendable {
    var model: SimulatorConfiguration.TierModel
    private(set) var inService = 0
    private(set) var waiting: [UInt64] = []
    private var waitingHead = 0
    private(set) var peakWaiting = 0
    private(set) var served = 0
    private(set) var shed = 0
    private(set) var evicted = 0

    init(model: SimulatorConfiguration.TierModel) { self.model = model }

    var queued: Int { waiting.count - waitingHead }

    enum ArrivalAction: Equatable { case serve, wait, shed }

    /// A request arrives: serve it now, queue it, or shed it (queue full).
    mutating func arrive(ticket: UInt64) -> ArrivalAction {
        if inService < model.capacity {
            inService += 1
            return .serve
        }
        if queued < model.queueLimit {
            waiting.append(ticket)
            peakWaiting = max(peakWaiting, queued)
            return .wait
        }
        shed += 1
        return .shed
    }

    /// A request in service finished (`served`: answered; else evicted by a fault); returns
    /// the ticket now admitted from the queue, if any.
    mutating func finish(served answered: Bool = true) -> UInt64? {
        if answered { served += 1 } else { evicted += 1 }
        if waitingHead < waiting.count {
            let next = waiting[waitingHead]
            waitingHead += 1
            compactIfNeeded()
            return next
        }
        inService -= 1
        return nil
    }

    /// The capacity changes (a `CapacitySchedule` point). Returns how many requests in
    /// service are over a lower capacity (to evict, then `evicted`) and the tickets admitted
    /// from the queue under a higher one.
    mutating func setCapacity(_ capacity: Int) -> (evict: Int, admit: [UInt64]) {
        model.capacity = max(0, capacity)
        var admit: [UInt64] = []
        while inService < model.capacity, waitingHead < waiting.count {
            admit.append(waiting[waitingHead])
            waitingHead += 1
            inService += 1
        }
        compactIfNeeded()
        return (max(0, inService - model.capacity), admit)
    }

    /// `count` requests in service were evicted: their slots are gone with the capacity.
    mutating func evicted(_ count: Int) {
        inService -= count
        evicted += count
    }

    /// Whether a priority request over its own capacity should be served as standard.
    var isSaturated: Bool { inService >= model.capacity }

    private mutating func compactIfNeeded() {
        if waitingHead > 1024, waitingHead * 2 > waiting.count {
            waiting.removeFirst(waitingHead)
            waitingHead = 0
        }
    }
}
