import Synchronization

/// Group commit: callers submit updates; one flusher task writes everything pending in a single
/// transaction, then wakes those waiting for durability. While one batch is being fsynced the
/// next accumulates, so throughput grows with load without any timer.
public final class JournalWriter: Sendable {
    private struct State {
        var pending: [RecordUpdate] = []
        /// Other journal work (waves, queries), run by the flusher after the updates before it.
        var work: [@Sendable (Journal) -> Void] = []
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

    /// Runs `body` on the journal in the flusher, after every update queued before it is
    /// written: the one connection is never used by two tasks at once.
    public func perform<T: Sendable>(_ body: @escaping @Sendable (Journal) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let (wake, failure) = state.withLock { s -> (CheckedContinuation<Void, Never>?, JournalError?) in
                if let failure = s.failure { return (nil, failure) }
                s.work.append { journal in
                    do { continuation.resume(returning: try body(journal)) } catch { continuation.resume(throwing: error) }
                }
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
                    if !s.pending.isEmpty || !s.work.isEmpty || s.closed { return true }
                    s.wake = parked
                    return false
                }
                if ready { parked.resume() }
            }
            let (updates, waiters, work, finished) = state.withLock { s in
                defer { s.pending = []; s.waiters = []; s.work = [] }
                return (s.pending, s.waiters, s.work, s.closed && s.pending.isEmpty && s.work.isEmpty)
            }
            if finished { return }
            defer { for job in work { job(journal.value) } }
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
                let (late, lateWork) = state.withLock { s in
                    s.failure = failure
                    defer { s.pending = []; s.waiters = []; s.work = [] }
                    return (s.waiters, s.work)
                }
                for w in waiters + late { w.resume(throwing: failure) }
                for job in lateWork { job(journal.value) }
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
