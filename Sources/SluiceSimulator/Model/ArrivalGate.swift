import Synchronization

/// Holds every model request until a given number have arrived, then lets them all into
/// service at once (or lets each go after a timeout). Transport tests use it to put a known
/// number of requests in flight at the same moment, however slowly a loaded machine sends
/// them; a hold that only lasted a fixed time would let the first ones finish before the last
/// ones arrived.
final class ArrivalGate: Sendable {
    private struct State: Sendable {
        var arrived = 0
        var waiting: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextTicket: UInt64 = 0
        /// Tickets that stopped waiting before their continuation was registered.
        var abandoned: Set<UInt64> = []
        var isOpen = false
    }
    private let state = Mutex(State())
    let count: Int
    let timeout: Duration

    init(count: Int, timeout: Duration) {
        self.count = count
        self.timeout = timeout
    }

    /// Returns when `count` requests have arrived (this one included) or `timeout` has passed.
    func pass() async {
        let ticket = state.withLock { s -> UInt64? in
            s.arrived += 1
            if s.isOpen { return nil }
            if s.arrived >= count { return nil }
            s.nextTicket += 1
            return s.nextTicket
        }
        guard let ticket else { return open() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [timeout] in try? await Task.sleep(for: timeout) }
            group.addTask {
                await withCheckedContinuation { c in
                    let late = self.state.withLock { s -> Bool in
                        if s.isOpen || s.abandoned.remove(ticket) != nil { return true }
                        s.waiting[ticket] = c
                        return false
                    }
                    if late { c.resume() }
                }
            }
            await group.next()
            group.cancelAll()
            // Whichever came first, this ticket stops waiting (a timed-out one resumes here).
            let parked = state.withLock { s -> CheckedContinuation<Void, Never>? in
                if let c = s.waiting.removeValue(forKey: ticket) { return c }
                if !s.isOpen { s.abandoned.insert(ticket) }
                return nil
            }
            parked?.resume()
            await group.waitForAll()
        }
    }

    private func open() {
        let resumed = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.isOpen = true
            defer { s.waiting = [:] }
            return Array(s.waiting.values)
        }
        for c in resumed { c.resume() }
    }
}
