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

    /// A served request finished; returns the ticket now admitted from the queue, if any.
    mutating func finish() -> UInt64? {
        served += 1
        if waitingHead < waiting.count {
            let next = waiting[waitingHead]
            waitingHead += 1
            compactIfNeeded()
            return next
        }
        inService -= 1
        return nil
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
