#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's open-file limit. Over HTTP/1.1 every request in flight holds a socket, so
/// the limit bounds how many can be: the soft limit is raised to the hard one at start.
enum OpenFileLimit {
    /// Descriptors kept for the journal, the input, the output and the runtime.
    static let reserve = 256

    /// Raises the soft limit to the hard limit; returns the soft limit now.
    static func raiseToHard() -> Int {
        var limit = rlimit()
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        guard getrlimit(resource, &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)
    }

    /// Requests that may be in flight within the limit.
    static func requestsAllowed(softLimit: Int) -> Int { max(16, softLimit - reserve) }
}
