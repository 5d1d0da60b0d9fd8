import Foundation
import SluiceModel

/// The request and token rates the job paces at, each from the best signal there is: the
/// user's `rpm`/`tpm`; else the per-minute quota a 429 names (`QuotaFailure`); else an
/// estimate, taken when 429s that name nothing come dense (`SignalShare`: a spent quota
/// refuses most sends, while Flex also answers a stray 429 when busy), of what the service
/// accepted in the minute before, then raised on a time basis while demand exceeds it. With
/// no limit known nothing is paced. A quota 429 pauses every send until the window it hit
/// resets (the delay it names, else an estimate of the window's remainder); a stray one
/// pauses them for the delay it names, if it names one. Pure: callers pass the clock (seconds).
public struct RateController: Sendable, Equatable {
    /// Where a rate came from.
    public enum Source: String, Sendable, Equatable {
        case configured, quota, estimated
    }

    /// One paced quantity (requests or input tokens).
    public struct Limit: Sendable, Equatable {
        public internal(set) var perMinute: Double
        public internal(set) var source: Source
        var pacer: Pacer
    }

    /// When a reserved request may go. Slots of an older `epoch` are void (the rate fell or a
    /// pause began after they were given): the waiter reserves again.
    public struct Slot: Sendable, Equatable {
        public var at: Double
        public var epoch: Int
    }

    /// Seconds in a quota "minute" (60, times the time scale of a scaled-down benchmark).
    public let minute: Double
    /// Fraction of a known or estimated quota that is paced: just under it.
    public var margin = 0.98
    /// Growth of an estimated rate per minute while demand exceeds it, doubling with every
    /// minute of probing without a quota 429 (at most 64×): an estimate taken far too low is
    /// not stuck.
    public var probePerMinute = 0.1
    public private(set) var requests: Limit?
    public private(set) var tokens: Limit?
    /// No request may start before this time.
    public private(set) var pausedUntil: Double = 0
    public private(set) var epoch = 0
    /// The first send after the last pause: the start of the quota window as far as we know.
    private var episodeStart: Double?
    /// How the current episode's window filled: its start, the send time of its first refusal,
    /// and the pace then. Kept across the pause that refusal may start.
    private var fill: Fill?
    private struct Fill: Sendable, Equatable {
        var start: Double
        var refused: Double
        var perMinute: Double
    }
    private var history: SendHistory
    private var bare429s: SignalShare
    /// When the last overshoot was recognized: 429s for requests sent before it are the same
    /// overshoot coming back (slowly, from a busy service) and teach nothing new.
    private var lastOvershoot = -Double.infinity
    /// Seconds spent probing (paced, with more to send) since the last overshoot: the probe
    /// speeds up with this, not with wall time (a job stalled at its ceiling learns nothing).
    private var probedFor = 0.0
    private var lastTick: Double

    public init(minute: Double = 60, requestsPerMinute: Int? = nil, tokensPerMinute: Int? = nil, now: Double = 0) {
        self.minute = minute
        history = SendHistory(minute: minute)
        // 429s come back in network time, not in quota time: the window is not scaled.
        // 429s come back in network time, a quota window passes in quota time: weighed over
        // 2 s, or a thirtieth of the minute when that is shorter (a scaled run), but not less
        // than a quarter second.
        bare429s = SignalShare(window: max(0.25, min(2, minute / 30)))
        lastTick = now
        if let rpm = requestsPerMinute { requests = Self.limit(Double(rpm) * margin, .configured, minute: minute, now: now) }
        if let tpm = tokensPerMinute { tokens = Self.limit(Double(tpm) * margin, .configured, minute: minute, now: now) }
    }

    /// Sends spread evenly: at most a sixtieth of a minute (a second) of them at once.
    private static func limit(_ perMinute: Double, _ source: Source, minute: Double, now: Double) -> Limit {
        Limit(perMinute: perMinute, source: source, pacer: Pacer(rate: perMinute / minute, burst: minute / 60, now: now))
    }

    /// Requests per second paced now, if any.
    public var requestRate: Double? { requests.map { $0.perMinute / minute } }

    /// Reserves a request of `tokens` estimated input tokens.
    public mutating func reserve(tokens count: Int, now: Double) -> Slot {
        var at = max(now, pausedUntil)
        if requests != nil { at = max(at, requests!.pacer.reserve(cost: 1, now: at)) }
        if let perMinute = tokens?.perMinute { at = max(at, tokens!.pacer.reserve(cost: min(Double(count), perMinute), now: at)) }
        return Slot(at: at, epoch: epoch)
    }

    /// Whether a slot may still be used at `now`.
    public func valid(_ slot: Slot, now: Double) -> Bool { slot.epoch == epoch && now >= pausedUntil }

    /// A reserved request goes on the wire.
    public mutating func sent(now: Double) {
        history.recordSent(now: now)
        bare429s.sent(now: now)
        if episodeStart == nil {
            episodeStart = now
            fill = nil
        }
    }

    /// Corrects the token pacing once the real input tokens are known.
    public mutating func answered(estimatedTokens: Int, actualTokens: Int, now: Double) {
        if estimatedTokens > actualTokens { tokens?.pacer.refund(Double(estimatedTokens - actualTokens), now: now) }
    }

    /// A request sent at `sentAt` was refused with 429: learn the rate it implies and pause
    /// until the window resets, if it is a quota signal. Returns the end of the pause.
    @discardableResult
    public mutating func rateLimited(_ error: ModelError, sentAt: Double, now: Double) -> Double {
        history.recordRefused(sentAt: sentAt)
        switch error.quota.flatMap(QuotaRate.init) {
        case .requests(let value)?:
            if requests?.source != .configured { lower(\.requests, to: Double(value) * margin, source: .quota, now: now) }
        case .tokens(let value)?:
            if tokens?.source != .configured { lower(\.tokens, to: Double(value) * margin, source: .quota, now: now) }
        case nil:
            bare429s.signal(now: now)
            if fill == nil, let start = episodeStart, sentAt >= start, let paced = requests?.perMinute {
                fill = Fill(start: start, refused: sentAt, perMinute: paced)
            }
            // A stray 429 that names a delay pauses for it; one that names nothing only
            // delays its own record.
            guard bare429s.dense(now: now) else {
                if let delay = error.retryAfter { pause(until: now + delay) }
                return pausedUntil
            }
            if sentAt < lastOvershoot {
                // The rest of an overshoot already estimated: only its delay counts.
                if let delay = error.retryAfter { pause(until: now + delay) }
                return pausedUntil
            }
            lastOvershoot = now
            probedFor = 0
            if requests == nil || requests?.source == .estimated {
                // What the service accepted before this request was refused: the best minute
                // up to its send (sending may have stopped since, at a ceiling or a pause).
                var accepted = Double(history.peakAccepted(upTo: sentAt))
                // Paced since the window reset (a pause ends there), the window was full when
                // the episode's first refused request was sent: the pace times that time is the
                // quota, however late the 429s come back.
                if let fill, fill.refused > fill.start, fill.refused - fill.start < minute {
                    accepted = min(accepted, fill.perMinute * (fill.refused - fill.start) / minute)
                }
                lower(\.requests, to: max(1, accepted) * margin, source: .estimated, now: now)
            }
        }
        pause(until: now + (error.retryAfter ?? windowRemainder(now: now)))
        return pausedUntil
    }

    private mutating func pause(until: Double) {
        if until > pausedUntil {
            pausedUntil = until
            episodeStart = nil
            epoch += 1
            // The waiters reserve again: their schedule starts when the pause ends.
            if let rate = requests?.pacer.rate { requests!.pacer.reset(rate: rate, now: until) }
            if let rate = tokens?.pacer.rate { tokens!.pacer.reset(rate: rate, now: until) }
        }
    }

    /// A 429 never raises a rate (but for a named quota over an estimate): a lower one
    /// replaces it, and the schedule restarts.
    private mutating func lower(_ limit: WritableKeyPath<Self, Limit?>, to perMinute: Double, source: Source, now: Double) {
        // A quota the service named replaces an estimate, even a lower one.
        // An estimate moves only by more than a percent: each 429 of one overshoot lowers it by
        // one request, and every change sends the waiters to reserve again.
        if let current = self[keyPath: limit], !(source == .quota && current.source == .estimated),
           current.perMinute <= perMinute || (source == .estimated && perMinute > current.perMinute * 0.99) { return }
        self[keyPath: limit] = Self.limit(perMinute, source, minute: minute, now: now)
        epoch += 1
    }

    /// Time until the quota window a 429 hit resets, when the 429 does not say: a window is
    /// assumed to start with the first send after a pause.
    func windowRemainder(now: Double) -> Double {
        let floor = minute / 60
        guard let start = episodeStart else { return 2 * floor }
        let since = now - start
        let left = since < minute ? minute - since : minute - since.truncatingRemainder(dividingBy: minute)
        return max(floor, left)
    }

    /// Raises an estimated request rate while demand exceeds it (a time-based probe: a quota
    /// raised mid-job, or an estimate taken low, is found again within minutes). Not in the
    /// quota minute after an overshoot: the estimate was just taken there, and probing at once
    /// overshot again every window (2.5% of requests answered 429 over HTTP/2, where 429s come
    /// back fast enough for the pace to sit at 99.6% of the quota).
    public mutating func tick(now: Double) {
        let dt = max(0, now - lastTick)
        lastTick = now
        guard var limit = requests, limit.source == .estimated, now >= pausedUntil, now - lastOvershoot >= minute,
              limit.pacer.backlog(now: now) > 0 else { return }
        probedFor += dt
        let quiet = min(6, (probedFor / minute).rounded(.down))
        limit.perMinute *= 1 + probePerMinute * exp2(quiet) * dt / minute
        if limit.perMinute > limit.pacer.rate * minute * 1.05 {
            // Slots were given at the old rate, as far ahead as the backlog: every 5% of growth
            // they are voided and reserved again at the new one.
            limit.pacer.reset(rate: limit.perMinute / minute, now: now)
            epoch += 1
        }
        requests = limit
    }
}

/// What a `QuotaFailure` quota id paces: requests or input tokens per minute. Per-day quotas
/// and others are not rates to pace at.
enum QuotaRate: Equatable {
    case requests(Int)
    case tokens(Int)

    init?(_ quota: ModelError.Quota) {
        guard let value = quota.limit, value > 0, quota.id.contains("PerMinute") else { return nil }
        self = quota.id.contains("Token") ? .tokens(value) : .requests(value)
    }
}
