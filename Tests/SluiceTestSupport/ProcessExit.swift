import Foundation
import Synchronization

/// Waits for a child process to exit without spending a core on it.
///
/// Why: on Linux, Foundation's `Process.waitUntilExit()` spins its thread's empty run loop until
/// the child exits — measured at 97% of a core for a `sleep 3`. With a dozen end-to-end tests
/// waiting for their `sluice` at once, the waits alone oversubscribed the two cores, and the
/// timing-sensitive tests (rate windows, retry delays) failed under that load.
/// `terminationHandler` is called from Foundation's own child monitor instead.
public final class ProcessExit: Sendable {
    private enum State {
        case running([CheckedContinuation<Int32, Never>])
        case exited(Int32)
    }

    private let state = Mutex(State.running([]))

    /// Installs itself as `process.terminationHandler`: call before `process.run()`.
    public init(_ process: Process) {
        process.terminationHandler = { [self] exited in
            let status = exited.terminationStatus
            let waiting: [CheckedContinuation<Int32, Never>] = state.withLock {
                guard case .running(let waiting) = $0 else { return [] }
                $0 = .exited(status)
                return waiting
            }
            for continuation in waiting { continuation.resume(returning: status) }
        }
    }

    /// The child's termination status, once it has exited.
    public func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            let status: Int32? = state.withLock {
                switch $0 {
                case .exited(let status):
                    return status
                case .running(var waiting):
                    waiting.append(continuation)
                    $0 = .running(waiting)
                    return nil
                }
            }
            if let status { continuation.resume(returning: status) }
        }
    }
}
