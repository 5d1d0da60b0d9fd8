#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// A child process started with `posix_spawn`, its standard streams bound to files, and an exit
/// status awaited without holding a cooperative thread.
///
/// Why not Foundation's `Process`: on Linux (Swift 6.3.1) `Process.run()` crashes now and then
/// with a bad pointer in `memmove` — it copies a whole 256-byte `d_name` of each `/proc/self/fd`
/// entry, which runs off the end of glibc's buffer when the next page is unmapped
/// (swift-corelibs-foundation PR 5472, fixed after 6.3.1). A suite that starts hundreds of
/// children hit it about one run in five. Its `waitUntilExit()` also spins a core per waiter.
public final class ChildProcess: Sendable {
    /// Where a standard stream of the child goes.
    public enum Stream: Sendable {
        case null
        /// Read from (stdin) or truncated and written to (stdout, stderr).
        case file(String)
        /// The parent's own stream.
        case inherit
    }

    /// How the child ended.
    public enum Termination: Sendable, Equatable {
        case exited(Int32)
        case signalled(Int32)

        /// As Foundation's `terminationStatus`: the exit code, or the number of the signal.
        public var status: Int32 {
            switch self {
            case .exited(let code): code
            case .signalled(let signal): signal
            }
        }
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public var description: String
    }

    public let pid: pid_t
    private let state = Mutex<State>(.running([]))

    private enum State {
        case running([CheckedContinuation<Termination, Never>])
        case ended(Termination)
    }

    /// Starts `executable` (a path; `/usr/bin/env` finds a name on PATH) with `arguments`.
    /// `environment` nil: the parent's. Descriptors other than 0–2 are closed in the child.
    public init(executable: String, arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
                stdin: Stream = .null, stdout: Stream = .null, stderr: Stream = .null) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (fd, stream) in [(Int32(0), stdin), (1, stdout), (2, stderr)] {
            switch stream {
            case .inherit: break
            case .null: posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
            case .file(let path):
                posix_spawn_file_actions_addopen(&actions, fd, path, fd == 0 ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            }
        }
        // glibc ≥ 2.34 / 2.29 has both, but its headers show them only under _GNU_SOURCE,
        // which Swift's Glibc module does not define: looked up by name instead.
        if let closeFrom = Self.closeFrom { _ = closeFrom(&actions, 3) }
        if let directory {
            guard let addChdir = Self.addChdir else { throw SpawnError(description: "cannot start \(executable) in \(directory): posix_spawn_file_actions_addchdir_np is missing") }
            _ = addChdir(&actions, directory)
        }
        let env = environment ?? ProcessInfo.processInfo.environment
        let argv = ([executable] + arguments).map { strdup($0) }
        let envp = env.map { strdup("\($0.key)=\($0.value)") }
        defer { for p in argv + envp { free(p) } }
        var pid = pid_t()
        let result = (argv + [nil]).withUnsafeBufferPointer { a in
            (envp + [nil]).withUnsafeBufferPointer { e in
                posix_spawn(&pid, executable, &actions, nil, UnsafeMutablePointer(mutating: a.baseAddress!), UnsafeMutablePointer(mutating: e.baseAddress!))
            }
        }
        guard result == 0 else {
            throw SpawnError(description: "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        self.pid = pid
        let child = pid
        // One thread per child, blocked in waitpid: no core spent, no cooperative thread held.
        Thread.detachNewThread { [self] in
            var status: Int32 = 0
            while waitpid(child, &status, 0) < 0, errno == EINTR {}
            let ended: Termination = (status & 0x7f) == 0 ? .exited((status >> 8) & 0xff) : .signalled(status & 0x7f)
            let waiting = state.withLock { s -> [CheckedContinuation<Termination, Never>] in
                guard case .running(let waiting) = s else { return [] }
                s = .ended(ended)
                return waiting
            }
            for c in waiting { c.resume(returning: ended) }
        }
    }

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private static let closeFrom: CloseFrom? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: CloseFrom.self) }
    private static let addChdir: AddChdir? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np")
        .map { unsafeBitCast($0, to: AddChdir.self) }

    /// How the child ended, once it has.
    public func termination() async -> Termination {
        await withCheckedContinuation { continuation in
            let ended: Termination? = state.withLock {
                switch $0 {
                case .ended(let t): return t
                case .running(var waiting):
                    waiting.append(continuation)
                    $0 = .running(waiting)
                    return nil
                }
            }
            if let ended { continuation.resume(returning: ended) }
        }
    }

    /// The exit code, or the signal's number (as Foundation's `terminationStatus`).
    public func wait() async -> Int32 { await termination().status }

    /// Whether the child has not been reaped yet.
    public var isRunning: Bool {
        state.withLock { if case .running = $0 { true } else { false } }
    }

    public func signal(_ number: Int32) { kill(pid, number) }
}
