import Synchronization

/// Group commit: callers submit updates; one flusher task writes everything pending in a single
/// transaction, then wakes those waiting for durability. While one batch is being fsynced the
/// next accumulates, so throughput grows with load without any timer.
public final class JournalWriter: Sendable {
    private struct State {
        var pending: [RecordUpdate] = []
        var waiters: [CheckedContinuation<Void, any Error>] = []
        var wake: CheckedContinuation<Void, Never>?
        var closed = false
        var failure: JournalError?
    }

    private let journal: UncheckedBox<Journal>
    private let state = Mutex(State())

    public init(journal: Journal) { self.journal = UncheckedBox(journal) }

    /// Queues an update without waiting (in-flight marks).
    public func submit(_ update: RecordUpdate) {
        let wake = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.pending.append(update)
            defer { s.wake = nil }
            return s.wake
        }
        wake?.resume()
    }

    /// Queues an update and returns once it is on disk.
    public func commit(_ update: RecordUpdate) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let (wake, failure) = state.withLock { s -> (CheckedContinuation<Void, Never>?, JournalError?) in
                if let failure = s.failure { return (nil, failure) }
                s.pending.append(update)
                s.waiters.append(continuation)
                defer { s.wake = nil }
                return (s.wake, nil)
            }
            if let failure { continuation.resume(throwing: failure) }
            wake?.resume()
        }
    }

    /// Ends `run` once everything pending is written.
    public func close() {
        let wake = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.closed = true
            defer { s.wake = nil }
            return s.wake
        }
        wake?.resume()
    }

    /// The flusher loop; run it as a child task for the life of the job.
    public func run() async throws {
        while true {
            await withCheckedContinuation { (parked: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { s -> Bool in
                    if !s.pending.isEmpty || s.closed { return true }
                    s.wake = parked
                    return false
                }
                if ready { parked.resume() }
            }
            let (updates, waiters, finished) = state.withLock { s in
                defer { s.pending = []; s.waiters = [] }
                return (s.pending, s.waiters, s.closed && s.pending.isEmpty)
            }
            if finished { return }
            do {
                try journal.value.commit(updates)
                for w in waiters { w.resume() }
            } catch {
                let failure = JournalError(.writeFailed, """
                    cannot write to the journal: \(error.message)
                    Every answer journaled before this is safe. Free disk space (or raise the file-size limit) and run the same command again to resume.
                    """)
                // Commits queued while this batch was being written wait too: the flusher ends
                // here, so they are failed now (left waiting, they held the run for ever).
                let late = state.withLock { s -> [CheckedContinuation<Void, any Error>] in
                    s.failure = failure
                    defer { s.pending = []; s.waiters = [] }
                    return s.waiters
                }
                for w in waiters + late { w.resume(throwing: failure) }
                throw failure
            }
        }
    }
}

/// Hands a non-Sendable object to exactly one task at a time (here: the journal to its flusher).
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
