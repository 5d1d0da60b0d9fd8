import Dispatch
import Foundation
import SluiceEngine

/// First SIGINT/SIGTERM: stop sending, let in-flight answers arrive and be journaled (up to a
/// grace period), exit 75. Second signal, or the grace period over: exit 75 at once — the
/// journal is consistent at every commit, so the same command resumes either way.
final class InterruptHandler: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private let queue = DispatchQueue(label: "sluice.signals")
    private var count = 0

    init(stop: StopSignal, gracePeriod: Double) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { [unowned self] in
                count += 1
                if count == 1 {
                    stop.stop(.interrupted)
                    Self.say("stopping: no new requests; waiting up to \(Int(gracePeriod)) s for answers in flight (interrupt again to quit now)")
                    queue.asyncAfter(deadline: .now() + gracePeriod) {
                        Self.say("grace period over; exiting. Run the same command again to resume.")
                        exit(75)
                    }
                } else {
                    Self.say("exiting now. Run the same command again to resume.")
                    exit(75)
                }
            }
            source.resume()
            sources.append(source)
        }
    }

    static func say(_ text: String) { FileHandle.standardError.write(Data("\nsluice: \(text)\n".utf8)) }
}
