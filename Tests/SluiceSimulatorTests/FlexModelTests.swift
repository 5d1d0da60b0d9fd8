import AsyncHTTPClient
import SluiceJSON
import SluiceSimulator
import Testing

@Suite("Flex behaviour model, faults and stats")
struct FlexModelTests {
    static func ix(_ prompt: String, tier: String = "flex") -> String { #"{"model":"m","input":"\#(prompt)","service_tier":"\#(tier)","store":false}"# }
    static func gc(_ prompt: String, tier: String = "flex") -> String { #"{"contents":[{"parts":[{"text":"\#(prompt)"}]}],"serviceTier":"\#(tier)"}"# }

    @Test func fullQueueShedsWith503() async throws {
        var config = SimulatorConfiguration()
        config.timeScale = 1
        // Service long enough that none ends while the eight are admitted (a loaded machine
        // took over 1.5 s to resume them all once), and all eight reach the queue together.
        config.flex = .init(capacity: 2, queueLimit: 3, latency: .init(minimum: 6, median: 6, maximum: 6))
        config.holdUntilArrivals = 8
        config.arrivalHoldTimeout = 60
        try await SimulatorServer.withRunning(config) { sim in
            let results = try await withThrowingTaskGroup(of: WireResponse.self) { group in
                for i in 0..<8 {
                    group.addTask { try await Wire.send("\(sim.baseURL)/v1beta/interactions", body: Self.ix("shed \(i)")) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let shed = results.filter { $0.status == 503 }
            let served = results.filter { $0.status == 200 }.count
            #expect(served == 5, "statuses: \(results.map(\.status))")
            #expect(shed.count == 3)
            #expect(shed.first?.json == Wire.json(#"{"error":{"code":"service_unavailable","message":"The service is currently unavailable."}}"#))
            let queues = sim.simulator.statsJSON()["queues"]?["flex"]
            #expect(queues?["shed"] == 3)
            #expect(queues?["served"] == 5)
            #expect(queues?["peak_queued"] == 3)
            #expect(sim.simulator.stats().totals.shed == 3)
        }
    }

    @Test func priorityOverItsCapacityIsServedAsStandard() async throws {
        var config = SimulatorConfiguration()
        // The first request holds the only priority slot long enough for a busy machine to send the second.
        config.priority = .init(capacity: 1, queueLimit: 0, latency: .init(minimum: 6, median: 6, maximum: 6))
        config.standard = .init(capacity: 10, queueLimit: 10, latency: .zero)
        try await SimulatorServer.withRunning(config) { sim in
            async let first = Wire.send("\(sim.baseURL)/v1beta/models/m:generateContent", body: Self.gc("p1", tier: "priority"))
            // Wait until the first one holds the only priority slot, however loaded the machine is.
            let deadline = ContinuousClock.now + .seconds(20)
            while sim.simulator.statsJSON()["queues"]?["priority"]?["in_service"] != 1, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            let second = try await Wire.send("\(sim.baseURL)/v1beta/models/m:generateContent", body: Self.gc("p2", tier: "priority"))
            #expect(try await first.headers["x-gemini-service-tier"] == "priority")
            #expect(second.status == 200)
            #expect(second.headers["x-gemini-service-tier"] == "standard")
            #expect(second.json["usageMetadata"]?["serviceTier"] == "standard")
        }
    }

    /// `n` requests sent at once, their responses in the order sent.
    static func burst(_ n: Int, url: String, body: @escaping @Sendable (Int) -> String) async throws -> [WireResponse] {
        try await withThrowingTaskGroup(of: (Int, WireResponse).self) { group in
            for i in 0..<n { group.addTask { (i, try await Wire.send(url, body: body(i))) } }
            return try await group.reduce(into: []) { $0.append($1) }.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    @Test func perMinuteLimitGives429WithRetryInfoThenRecovers() async throws {
        var config = SimulatorConfiguration.instant
        config.rateLimits.rpm = 2
        config.rateLimits.window = 5
        try await SimulatorServer.withRunning(config) { sim in
            let url = "\(sim.baseURL)/v1beta/models/gemini-x:generateContent"
            var statuses: [Int] = []
            var limited: WireResponse?
            // Windows are fixed from the simulator's start, and on a loaded machine one request
            // after another may take longer than a window: so three at once, until the limit bites.
            let began = ContinuousClock.now
            for round in 0..<8 where limited == nil {
                for r in try await Self.burst(3, url: url, body: { Self.gc("rpm \(round) \($0)") }) {
                    statuses.append(r.status)
                    if r.status == 429, limited == nil { limited = r }
                }
            }
            let served = statuses.filter { $0 == 200 }.count
            // At most 2 answers per 5 s window, over the windows the loop spanned (however slow
            // the machine: the bound follows the elapsed time, not a guess of it).
            let elapsed = ContinuousClock.now - began
            let windows = Int((Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) / 5) + 2
            #expect(statuses.contains(429) && served >= 2 && served <= 2 * windows, "statuses: \(statuses) over \(elapsed)")
            let error = try #require(limited?.json["error"])
            #expect(error["status"] == "RESOURCE_EXHAUSTED")
            let details = try #require(error["details"]?.arrayValue)
            #expect(details.map { $0["@type"]?.stringValue ?? "" } == [
                "type.googleapis.com/google.rpc.QuotaFailure", "type.googleapis.com/google.rpc.Help", "type.googleapis.com/google.rpc.RetryInfo",
            ])
            #expect(details[0]["violations"]?[0]?["quotaId"] == "GenerateRequestsPerMinutePerProjectPerModel")
            #expect(details[0]["violations"]?[0]?["quotaValue"] == "2")
            let delay = try #require(details[2]["retryDelay"]?.stringValue)
            let seconds = try #require(Double(delay.dropLast()))
            #expect(delay.hasSuffix("s") && seconds > 0 && seconds <= 5)
            #expect(error["message"]?.stringValue?.contains("Please retry in") == true)
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000) + 100))
            #expect(try await Wire.send(url, body: Self.gc("rpm again")).status == 200)
            // The Interactions surface shares the limit (three at once, as above).
            var ixLimited: WireResponse?
            for round in 0..<8 where ixLimited == nil {
                ixLimited = try await Self.burst(3, url: "\(sim.baseURL)/v1beta/interactions", body: { Self.ix("ix \(round) \($0)") })
                    .first { $0.status == 429 }
            }
            #expect(ixLimited?.json["error"]?["code"] == "rate_limit_exceeded")
            let text = ixLimited?.json["error"]?["message"]?.stringValue ?? ""
            #expect(text.hasPrefix("Rate limit exceeded. Please retry in ") && text.hasSuffix("s."), "\(text)")
        }
    }

    @Test func inputTokensPerMinuteLimit() async throws {
        var config = SimulatorConfiguration.instant
        config.rateLimits.tpm = 10
        try await SimulatorServer.withRunning(config) { sim in
            let url = "\(sim.baseURL)/v1beta/models/m:generateContent"
            let first = try await Wire.send(url, body: Self.gc(String(repeating: "x", count: 40)))
            #expect(first.status == 200)
            let second = try await Wire.send(url, body: Self.gc("tiny"))
            #expect(second.status == 429)
            #expect(second.json["error"]?["details"]?[0]?["violations"]?[0]?["quotaId"] == "GenerateContentInputTokensPerModelPerMinute")
            #expect(second.json["error"]?["details"]?[0]?["violations"]?[0]?["quotaValue"] == "10")
        }
    }

    @Test func continuationFaultSplitsTheAnswerInTwoHops() async throws {
        try await SimulatorServer.withRunning(.instant) { sim in
            let prompt = "split sim-fault:continuation"
            let first = try await Wire.send("\(sim.baseURL)/v1beta/interactions", body: Self.ix(prompt))
            #expect(first.json["status"] == "requires_continuation")
            let token = try #require(first.json["continuation_token"]?.stringValue)
            let second = try await Wire.send("\(sim.baseURL)/v1beta/interactions", body: #"{"model":"m","input":"\#(prompt)","store":false,"continuation_token":"\#(token)"}"#)
            #expect(second.json["status"] == "completed")
            let text = [first, second].compactMap { $0.json["steps"]?.arrayValue?.last?["content"]?[0]?["text"]?.stringValue }.joined()
            #expect(text == AnswerGenerator.text(for: prompt))
        }
    }

    @Test func dailyQuotaIsTheNonRetryable429() async throws {
        var config = SimulatorConfiguration.instant
        config.rateLimits.rpd = 1
        try await SimulatorServer.withRunning(config) { sim in
            _ = try await Wire.send("\(sim.baseURL)/v1beta/interactions", body: Self.ix("q1"))
            let ix = try await Wire.send("\(sim.baseURL)/v1beta/interactions", body: Self.ix("q2"))
            #expect(ix.status == 429)
            #expect(ix.json == Wire.json(#"{"error":{"code":"quota_exceeded","message":"You exceeded your current daily quota. Please check your plan and billing details."}}"#))
            let gc = try await Wire.send("\(sim.baseURL)/v1beta/models/m:generateContent", body: Self.gc("q3"))
            #expect(gc.json["error"]?["details"]?[0]?["violations"]?[0]?["quotaId"] == "GenerateRequestsPerDayPerProjectPerModel")
        }
    }

    @Test(arguments: [
        ("500", 500, #"{"error":{"code":"api_error","message":"An internal error has occurred."}}"#),
        ("503", 503, #"{"error":{"code":"service_unavailable","message":"The service is currently unavailable."}}"#),
        ("504", 504, #"{"error":{"code":"deadline_exceeded","message":"The request timed out. Please try again."}}"#),
        ("billing", 429, #"{"error":{"code":"too_many_requests","message":"Your prepayment credits are depleted. Please go to AI Studio at https://ai.studio/projects to manage your project and billing."}}"#),
    ])
    func headerFaultsOnInteractions(fault: String, status: Int, expected: String) async throws {
        try await SimulatorServer.withRunning(.instant) { sim in
            let r = try await Wire.send("\(sim.baseURL)/v1beta/interactions", body: Self.ix("f"), headers: ["x-goog-api-key": "sim-test-key", "x-sim-fault": fault])
            #expect(r.status == status)
            #expect(r.json == Wire.json(expected))
            #expect(sim.simulator.stats().faultsByKind[fault] == 1)
        }
    }

    @Test func billing429OnGenerateContentHasNoDetails() async throws {
        try await SimulatorServer.withRunning(.instant) { sim in
            let r = try await Wire.send("\(sim.baseURL)/v1beta/models/m:generateContent", body: Self.gc("f"), headers: ["x-goog-api-key": "sim-test-key", "x-sim-fault": "billing"])
            #expect(r.status == 429)
            #expect(r.json["error"]?["details"] == nil)
            #expect(r.json["error"]?["status"] == "RESOURCE_EXHAUSTED")
        }
    }

    @Test func firstAttemptsFaultThenSucceedAndStatsCountPerPrompt() async throws {
        var config = SimulatorConfiguration.instant
        config.faults = [FaultRule(parsing: "503*2")!]
        try await SimulatorServer.withRunning(config) { sim in
            var statuses: [Int] = []
            for _ in 0..<3 { statuses.append(try await Wire.send("\(sim.baseURL)/v1beta/interactions", body: Self.ix("retry me")).status) }
            #expect(statuses == [503, 503, 200])
            let stats = try await Wire.send("\(sim.baseURL)/_sim/stats", method: .GET)
            let entry = try #require(stats.json["prompts"]?[PromptHash.hex("retry me")])
            let answer = AnswerGenerator.text(for: "retry me")
            let thought = AnswerGenerator.thoughtTokens(for: "retry me", level: nil)
            #expect(entry == Wire.json("""
                {"requests":3,"batch_requests":0,"answers":1,"faults":2,"shed":0,"rate_limited":0,"evicted":0,"input_tokens":\(AnswerGenerator.tokens("retry me")),
                 "output_tokens":\(AnswerGenerator.tokens(answer)),"thought_tokens":\(thought)}
                """))
            #expect(stats.json["faults_by_kind"] == Wire.json(#"{"503":2}"#))
        }
    }

    @Test func seededProbabilisticFaultsReplayIdentically() async throws {
        var config = SimulatorConfiguration.instant
        config.faults = [FaultRule(parsing: "503=0.3")!, FaultRule(parsing: "500=0.1")!]
        config.seed = 42
        var runs: [[Int]] = []
        for _ in 0..<2 {
            try await SimulatorServer.withRunning(config) { sim in
                var statuses: [Int] = []
                for i in 0..<40 { statuses.append(try await Wire.send("\(sim.baseURL)/v1beta/interactions", body: Self.ix("p\(i % 10)")).status) }
                runs.append(statuses)
            }
        }
        #expect(runs[0] == runs[1])
        let faults = runs[0].filter { $0 != 200 }.count
        #expect(faults > 4 && faults < 30)
    }

    @Test func droppedAndTruncatedResponsesFailAtTheClient() async throws {
        try await SimulatorServer.withRunning(.instant) { sim in
            for fault in ["drop", "truncate"] {
                await #expect(throws: (any Error).self) {
                    _ = try await Wire.send("\(sim.baseURL)/v1beta/interactions", body: Self.ix(fault), headers: ["x-goog-api-key": "sim-test-key", "x-sim-fault": fault])
                }
            }
            let stats = sim.simulator.stats()
            #expect(stats.faultsByKind == ["drop": 1, "truncate": 1])
            #expect(stats.prompts[PromptHash.hex("drop")]?.answers == 0)
            #expect(stats.prompts[PromptHash.hex("truncate")]?.answers == 1)
            let after = try await Wire.send("\(sim.baseURL)/v1beta/interactions", body: Self.ix("after"))
            #expect(after.status == 200)
        }
    }

    @Test func slowFirstByteDelaysTheHead() async throws {
        var config = SimulatorConfiguration.instant
        config.slowFirstByteSeconds = 0.5
        try await SimulatorServer.withRunning(config) { sim in
            let clock = ContinuousClock()
            let start = clock.now
            let r = try await Wire.send("\(sim.baseURL)/v1beta/interactions", body: Self.ix("slow"), headers: ["x-goog-api-key": "sim-test-key", "x-sim-fault": "slow"])
            #expect(r.status == 200)
            #expect(clock.now - start >= .milliseconds(450))
        }
    }

    @Test func requestLogRedactsTheKeyAndKeepsBodies() async throws {
        try await SimulatorServer.withRunning(.instant) { sim in
            _ = try await Wire.send("\(sim.baseURL)/v1beta/interactions", body: Self.ix("logged"))
            let log = try await Wire.send("\(sim.baseURL)/_sim/requests", method: .GET)
            let entry = try #require(log.json["requests"]?[0])
            #expect(entry["headers"]?["x-goog-api-key"] == "<redacted>")
            #expect(entry["body"] == Wire.json(Self.ix("logged")))
            #expect(entry["outcome"] == "answer")
            #expect(entry["prompt_hash"]?.stringValue == PromptHash.hex("logged"))
            #expect(!log.text.contains("sim-test-key"))
            _ = try await Wire.send("\(sim.baseURL)/_sim/reset", method: .POST)
            #expect(sim.simulator.stats().totals.requests == 0)
        }
    }

    @Test func aCapacityDropEvictsRequestsInServiceAndTheRiseAdmitsTheQueue() async throws {
        var config = SimulatorConfiguration()
        // Service seconds scaled by 0.04: the drop comes at 20 s, the rise at 21 s; answers take
        // 25 s (the queued two end at 46 s, inside the client's 60 s). The 20 s are room for a
        // machine loaded by the whole suite to get all eight in before the drop (12 s were once
        // not enough in a fresh clone's run).
        config.timeScale = 0.04
        config.flex = .init(capacity: 6, queueLimit: 10, latency: .init(minimum: 625, median: 625, maximum: 625))
        config.flexCapacitySchedule = CapacitySchedule(parsing: "0:6,500:2,525:6")
        try await SimulatorServer.withRunning(config) { sim in
            let results = try await withThrowingTaskGroup(of: WireResponse.self) { group in
                for i in 0..<8 {
                    group.addTask { try await Wire.send("\(sim.baseURL)/v1beta/interactions", body: Self.ix("evict \(i)")) }
                }
                // All eight in (6 in service, 2 queued) before the drop, however loaded the machine.
                let deadline = ContinuousClock.now + .seconds(20)
                while sim.simulator.statsJSON(prompts: false)["queues"]?["flex"]?["queued"] != 2, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(10))
                }
                #expect(sim.simulator.statsJSON(prompts: false)["uptime_seconds"]?.doubleValue ?? 99 < 20, "the machine was too slow to test the drop")
                // Something must arrive after each point for the schedule to apply: a stats poll does.
                for point in [20.1, 21.1] {
                    while sim.simulator.statsJSON(prompts: false)["uptime_seconds"]?.doubleValue ?? 99 < point {
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let statuses = results.map(\.status).sorted()
            // 6 in service, 2 queued; the drop to 2 evicts 4 (503); the 2 queued are served once it rises.
            #expect(statuses == [200, 200, 200, 200, 503, 503, 503, 503], "\(statuses)")
            let stats = sim.simulator.statsJSON(prompts: false)
            #expect(stats["queues"]?["flex"]?["evicted"] == 4)
            #expect(stats["totals"]?["evicted"] == 4)
            #expect(stats["responses_by_status"]?["503"] == 4 && stats["responses_by_status"]?["200"] == 4)
            #expect(stats["prompts"]?.objectValue?.isEmpty == true)
            #expect(results.first { $0.status == 503 }?.json["error"]?["code"] == "service_unavailable")
        }
    }

    @Test func theEvictFaultDropsAFlexRequestAfterHalfItsServiceTime() async throws {
        var config = SimulatorConfiguration()
        config.timeScale = 1
        config.flex = .init(capacity: 4, queueLimit: 4, latency: .init(minimum: 1, median: 1, maximum: 1))
        try await SimulatorServer.withRunning(config) { sim in
            let began = ContinuousClock.now
            let r = try await Wire.send("\(sim.baseURL)/v1beta/models/m:generateContent", body: Self.gc("evict me"), headers: ["x-goog-api-key": "sim-test-key", "X-Sim-Fault": "evict"])
            let took = ContinuousClock.now - began
            #expect(r.status == 503)
            #expect(took >= .milliseconds(450))
            let stats = sim.simulator.stats()
            #expect(stats.totals.evicted == 1 && stats.faultsByKind["evict"] == 1 && stats.totals.answers == 0)
        }
    }

    @Test func theTimeScaleScalesRateWindowsToo() async throws {
        var config = SimulatorConfiguration()
        // A 60 s window at scale 0.1 is 6 s: its 429 names what is left of it, under 6 s.
        config.timeScale = 0.1
        config.flex = .init(capacity: 10, queueLimit: 10, latency: .zero)
        config.rateLimits.rpm = 1
        try await SimulatorServer.withRunning(config) { sim in
            let url = "\(sim.baseURL)/v1beta/models/m:generateContent"
            var limited: WireResponse?
            // Sent one after another until one lands in a window already used (a loaded machine
            // may let a window pass between two requests).
            for i in 0..<30 where limited == nil {
                let r = try await Wire.send(url, body: Self.gc("scaled \(i)"))
                if r.status == 429 { limited = r }
            }
            let delay = limited?.json["error"]?["details"]?.arrayValue?.compactMap { $0["retryDelay"]?.stringValue }.first
            let seconds = delay.flatMap { Double($0.dropLast()) }
            #expect(seconds != nil && seconds! > 0 && seconds! <= 6, "\(delay ?? "no 429")")
        }
    }
}
