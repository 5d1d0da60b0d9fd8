import ArgumentParser
import Foundation
import SluiceSimulator

/// `sluice simulate`: serve the local Gemini Flex simulator.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Serve a local Gemini API simulator (Interactions and generateContent) with a Flex behaviour model.",
        discussion: """
            Answers are deterministic: the same prompt text gets the same answer in every run and \
            process (JSON conforming to the request's schema when one is given). --time-scale \
            multiplies every duration of the service alike — latencies, the rate window, the quota \
            day, the capacity schedule — so a scaled run keeps real ratios (at 0 latencies vanish \
            and windows stay as given). Faults come from --fault rules, from a request \
            header 'X-Sim-Fault: KIND' (or KIND*N: first N attempts of that prompt), or from a \
            'sim-fault:KIND' marker inside the prompt text.

            Fault kinds: 500 503 504 429 quota billing drop truncate slow evict continuation \
            max_tokens safety prompt_blocked. An injected 429 names the --rpm quota when one is \
            set, else only a retry delay. 'evict' drops a Flex request with 503 after half its \
            service time; a drop in --flex-capacity-schedule evicts what no longer fits. \
            pack_drop pack_duplicate pack_reorder pack_invalid spoil a packed request's answer \
            (several records in one prompt, as `sluice run --pack` sends them): an item left out, \
            an id answered twice, the items reversed, an answer that breaks its schema. A packed \
            request is answered item by item with exactly what each record gets alone.

            With --tls the simulator serves HTTPS and negotiates HTTP/2 or HTTP/1.1 by ALPN, as \
            the real endpoint does, with a certificate authority made for this run: --ca-out \
            writes it for `sluice run --ca-file` (or SSL_CERT_FILE).

            Control endpoints: GET /_sim/stats (totals, responses by status, evictions, queues, \
            connections and HTTP/2 streams, counts per prompt hash; ?prompts=0 leaves those out), GET /_sim/requests \
            (recent requests with bodies, the API key redacted), POST /_sim/reset.

            Examples:
              sluice simulate --port 8089
              sluice simulate --port 0 --time-scale 0.01 --flex-capacity 8 --flex-queue 32
              sluice simulate --fault 503=0.3 --fault 429=0.05 --fault drop=0.01 --seed 7
              sluice simulate --rpm 60 --rpd 1000 --rate-window 60
              sluice simulate --time-scale 0.05 --rpm 1000 --flex-capacity 4000 --flex-capacity-schedule 0:4000,120:400,420:4000
              GEMINI_API_KEY=sim-test-key sluice run in.csv -t t.md --endpoint http://127.0.0.1:8089
              sluice simulate --tls --ca-out /tmp/sim-ca.pem --port 8443
              GEMINI_API_KEY=sim-test-key sluice run in.csv -t t.md --endpoint https://127.0.0.1:8443 --ca-file /tmp/sim-ca.pem
            """
    )

    @Option(help: "Port to listen on; 0 picks a free one (the address is printed).")
    var port = 8089
    @Option(help: "Address to bind.")
    var host = "127.0.0.1"
    @Flag(help: "Serve HTTPS (HTTP/2 or HTTP/1.1 by ALPN) with a certificate made for this run.")
    var tls = false
    @Option(help: "With --tls: write the run's certificate authority (PEM) to this file.")
    var caOut: String?
    @Option(help: "With --tls: HTTP/2 streams a connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS).")
    var maxConcurrentStreams = 100
    @Option(help: "With --tls: protocols offered by ALPN, most preferred first (http/1.1 alone: HTTPS without HTTP/2).")
    var alpn = "h2,http/1.1"

    @Option(name: .customLong("api-key"), help: "An API key to accept (repeatable).")
    var apiKeys: [String] = ["sim-test-key"]
    @Flag(help: "Accept any non-empty API key.")
    var anyKey = false

    @Option(help: "Seed for fault draws and latencies.")
    var seed: UInt64 = 1
    @Option(help: "Multiplier for every simulated latency (0.001 turns minutes into tenths of a second; 0: none).")
    var timeScale = 1.0

    @Option(help: "Flex requests served at once.") var flexCapacity = 64
    @Option(help: "Flex capacity over time, SECONDS:CAPACITY,... (service seconds, scaled); a drop evicts requests in service.") var flexCapacitySchedule: String?
    @Option(help: "Flex requests that may wait; beyond it → 503.") var flexQueue = 10_000
    @Option(help: "Flex service time MIN,MEDIAN,MAX in seconds.") var flexLatency = "60,180,900"
    @Option(help: "Standard requests served at once.") var standardCapacity = 256
    @Option(help: "Standard requests that may wait; beyond it → 503.") var standardQueue = 1_000
    @Option(help: "Standard service time MIN,MEDIAN,MAX in seconds.") var standardLatency = "1,4,30"
    @Option(help: "Priority requests served at once; beyond it they are served as standard.") var priorityCapacity = 32
    @Option(help: "Priority service time MIN,MEDIAN,MAX in seconds.") var priorityLatency = "0.5,2,10"

    @Option(help: "Requests per rate window; over it → retryable 429 with RetryInfo.") var rpm: Int?
    @Option(help: "Input tokens per rate window; over it → retryable 429.") var tpm: Int?
    @Option(help: "Requests per day; over it → the daily-quota 429 (not retryable).") var rpd: Int?
    @Option(help: "Length of the rate window in service seconds (scaled by --time-scale).") var rateWindow = 60.0
    @Option(help: "Length of the quota day in service seconds (scaled by --time-scale).") var dayLength = 86_400.0

    @Option(name: .customLong("fault"), help: "Fault rule KIND=P (probability per attempt), KIND*N (first N attempts of each prompt) or KIND (repeatable).")
    var faults: [String] = []
    @Option(help: "Seconds advertised by injected 429s (RetryInfo.retryDelay).") var faultRetryDelay = 1.0
    @Option(help: "Seconds before the first byte for the 'slow' fault.") var slowFirstByte = 5.0
    @Option(help: "Interactions answers longer than this many tokens come in requires_continuation hops.") var decodeLimit: Int?
    @Option(help: "A model answered with 404 'no longer available' (repeatable).") var retiredModel: [String] = []
    @Flag(help: "Add Retry-After to Interactions 429s.") var interactionsRetryAfter = false
    @Option(help: "Requests kept for GET /_sim/requests.") var eventLogLimit = 10_000
    @Flag(help: "Do not keep request bodies in the request log.") var noCapture = false
    @Option(help: "Batch API: seconds a new batch stays pending (scaled by --time-scale).") var batchPending = 60.0
    @Option(help: "Batch API: turnaround MIN,MEDIAN,MAX in seconds, creation to results (scaled).") var batchLatency = "600,3600,86400"
    @Option(help: "Batch API: input tokens of live batches per model beyond which a create gets 429 (0: no cap).") var batchTokenCap = 3_000_000
    @Option(help: "Batch API: the first N batches created expire without results.") var batchExpireFirst = 0
    @Option(help: "Batch API: the N batches after those fail as a whole.") var batchFailFirst = 0
    @Option(help: "Files API: the first N upload chunks get 503 without an upload status.") var uploadChunkFaults = 0
    @Option(help: .hidden) var holdUntilArrivals: Int?
    @Option(help: .hidden) var arrivalHoldTimeout = 300.0

    func validate() throws {
        for spec in faults where FaultRule(parsing: spec) == nil {
            throw ValidationError("--fault '\(spec)': expected KIND, KIND=P or KIND*N with KIND one of \(FaultKind.allCases.map(\.rawValue).joined(separator: " "))")
        }
        for (name, value) in [("--flex-latency", flexLatency), ("--standard-latency", standardLatency), ("--priority-latency", priorityLatency),
                              ("--batch-latency", batchLatency)] {
            if Self.latency(value) == nil { throw ValidationError("\(name) '\(value)': expected MIN,MEDIAN,MAX seconds") }
        }
        if caOut != nil, !tls { throw ValidationError("--ca-out needs --tls") }
        if maxConcurrentStreams < 1 { throw ValidationError("--max-concurrent-streams must be at least 1") }
        if alpn != "h2,http/1.1", !tls { throw ValidationError("--alpn needs --tls") }
        let offered = alpn.split(separator: ",").map(String.init)
        if offered.isEmpty || !offered.allSatisfy(["h2", "http/1.1"].contains) {
            throw ValidationError("--alpn '\(alpn)': expected h2 and/or http/1.1, comma-separated")
        }
        if timeScale < 0 { throw ValidationError("--time-scale must not be negative") }
        if let schedule = flexCapacitySchedule, CapacitySchedule(parsing: schedule) == nil {
            throw ValidationError("--flex-capacity-schedule '\(schedule)': expected SECONDS:CAPACITY,... (e.g. 0:500,120:50,300:500)")
        }
    }

    static func latency(_ text: String) -> LatencyDistribution? {
        let parts = text.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 3, parts.allSatisfy({ $0 >= 0 }) else { return nil }
        return LatencyDistribution(minimum: parts[0], median: parts[1], maximum: parts[2])
    }

    var simulatorConfiguration: SimulatorConfiguration {
        var c = SimulatorConfiguration()
        c.apiKeys = Set(apiKeys)
        c.acceptAnyKey = anyKey
        c.seed = seed
        c.timeScale = timeScale
        c.flex = .init(capacity: flexCapacity, queueLimit: flexQueue, latency: Self.latency(flexLatency)!)
        c.standard = .init(capacity: standardCapacity, queueLimit: standardQueue, latency: Self.latency(standardLatency)!)
        c.priority = .init(capacity: priorityCapacity, queueLimit: 0, latency: Self.latency(priorityLatency)!)
        c.rateLimits.rpm = rpm
        c.rateLimits.tpm = tpm
        c.rateLimits.rpd = rpd
        c.rateLimits.window = rateWindow
        c.rateLimits.day = dayLength
        c.flexCapacitySchedule = flexCapacitySchedule.flatMap(CapacitySchedule.init(parsing:))
        c.faults = faults.compactMap(FaultRule.init(parsing:))
        c.faultRetryDelay = faultRetryDelay
        c.slowFirstByteSeconds = slowFirstByte
        c.decodeLimitTokens = decodeLimit
        c.retiredModels = Set(retiredModel)
        c.interactionsRetryAfter = interactionsRetryAfter
        c.eventLogLimit = eventLogLimit
        c.captureBodies = !noCapture
        c.batchPendingSeconds = batchPending
        c.batchLatency = Self.latency(batchLatency)!
        c.batchEnqueuedTokenCap = batchTokenCap > 0 ? batchTokenCap : nil
        c.batchExpireFirst = batchExpireFirst
        c.batchFailFirst = batchFailFirst
        c.uploadChunkFaults = uploadChunkFaults
        c.holdUntilArrivals = holdUntilArrivals
        c.arrivalHoldTimeout = arrivalHoldTimeout
        return c
    }

    func run() async throws {
        var identity: SimulatorTLS?
        if tls {
            var made = try await SimulatorTLS.generate()
            made.maxConcurrentStreams = maxConcurrentStreams
            made.applicationProtocols = alpn.split(separator: ",").map(String.init)
            if let caOut {
                do { try made.writeCA(to: caOut) } catch {
                    FileHandle.standardError.write(Data("sluice: error: cannot write the certificate authority to \(caOut): \(error.localizedDescription)\n".utf8))
                    throw ExitCode(ExitStatus.usage)
                }
            }
            identity = made
        }
        try await SimulatorServer.run(simulatorConfiguration, host: host, port: port, tls: identity) { running in
            // Written unbuffered: scripts wait for this line to learn the port.
            let banner = "sluice simulator listening on \(running.baseURL)\n  answers are simulated; stats at \(running.baseURL)/_sim/stats\n"
            FileHandle.standardOutput.write(Data(banner.utf8))
        }
    }
}
