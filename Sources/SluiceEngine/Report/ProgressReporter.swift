#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Shows progress on stderr: a line redrawn twice a second on a terminal, a log line every
/// `interval` seconds otherwise (pipelines and CI logs).
public struct ProgressReporter: Sendable {
    public let counters: RunCounters
    public let interval: Double
    public let started = ContinuousClock.now

    public init(counters: RunCounters, interval: Double = 10) {
        self.counters = counters
        self.interval = interval
    }

    public static var stderrIsTerminal: Bool { isatty(2) != 0 }

    public var elapsed: Double { (ContinuousClock.now - started).seconds }

    /// Runs until cancelled.
    public func run() async {
        let tty = Self.stderrIsTerminal
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(tty ? 500 : Int64(interval * 1000)))
            if Task.isCancelled { break }
            let line = RunReport.progressLine(counters.snapshot, elapsed: elapsed)
            write(tty ? "\r\u{1B}[2K" + line : "sluice: " + line + "\n")
        }
        if tty { write("\r\u{1B}[2K") }
    }

    func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}
