import Foundation
import SluiceFormats
import SluiceJSON
import SluiceSimulator
import SluiceTestSupport
import Testing

/// The production transport: TLS with HTTP/2 by ALPN, as the real endpoint speaks it. The
/// simulator serves TLS with a certificate authority made for the run, and counts connections
/// and HTTP/2 streams, so these tests see what went over the wire.
@Suite("TLS and HTTP/2 end to end")
struct TransportEndToEndTests {
    static let env = E2E.env

    static func input(_ dir: Scratch, _ n: Int) throws -> String {
        var text = "text\n"
        for i in 1...n { text += "row \(i)\n" }
        return try dir.write("in.csv", text)
    }

    static func tls() async throws -> SimulatorTLS { try await SimulatorTLS.generate() }

    /// 1,200 Flex requests, all sent at once (the in-flight floor is pinned: this is about the
    /// transport, not the limits), held by the simulator until all 1,200 have arrived: every
    /// request is an HTTP/2 stream, all are open at once on a dozen connections, none carrying
    /// more streams than the server allows. The simulator runs in a process of its own (in this
    /// one, the suites beside it starve its handshakes). The hold counts arrivals rather than
    /// seconds because a debug build under the whole suite's load can take minutes to send 1,200
    /// requests over TLS (a fixed 60 s hold let the first lanes finish before the last arrived:
    /// a peak of 900 in one CI run); a handshake that misses the 30 s connect timeout fails its
    /// lane's requests, which are retried on a new connection (counted in the bound below).
    @Test func http2MultiplexesAThousandRequestsOverFewConnections() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let n = 1_200
        let input = try Self.input(dir, n)
        let template = try dir.write("t.md", "{{text}}")
        let sim = try SimulatorProcess(["--flex-capacity", "5000", "--flex-queue", "5000", "--flex-latency", "2,2,2", "--no-capture",
                                        "--hold-until-arrivals", String(n), "--arrival-hold-timeout", "400",
                                        "--event-log-limit", "10"], caFile: dir.path + "/ca.pem")
        #expect(sim.baseURL.hasPrefix("https://"))
        let r = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", sim.baseURL, "--ca-file", dir.path + "/ca.pem",
                                             "--min-concurrency", String(n), "-o", dir.path + "/out.csv", "-v"], environment: Self.env)
        #expect(r.status == 0, "\(r.stderr.suffix(2000))")
        #expect(dir.read("out.csv").split(separator: "\n").count == n + 1)
        let t = try #require(try await sim.get("/_sim/stats?prompts=0")["transport"])
        await sim.stop()
        let number = { (key: String) in t[key]?.intValue ?? -1 }
        let perConnection = number("max_concurrent_streams")
        #expect(t["tls"] == true)
        #expect(t["connections_by_protocol"]?["h2"]?.intValue ?? 0 >= 1, "\(t)")
        #expect(t["connections_by_protocol"]?["http/1.1"] == nil, "\(t)")
        // Every request was a stream of its own (the stats request is one more).
        #expect(number("streams") >= n, "\(t)")
        // All at once, on few connections, never above what the server allows.
        #expect(number("peak_open_streams") >= n, "\(t)")
        #expect(number("peak_streams_per_connection") <= perConnection, "\(t)")
        #expect(number("connections") <= (n + perConnection - 1) / perConnection + number("failed_handshakes") + 4, "\(t)")
    }

    /// `SSL_CERT_FILE` is trusted as `--ca-file` is; against an HTTPS server that offers only
    /// HTTP/1.1 by ALPN (some OpenAI-compatible servers, proxies), sluice speaks HTTP/1.1.
    @Test(arguments: [["h2", "http/1.1"], ["http/1.1"]])
    func sslCertFileIsTrusted(alpn: [String]) async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let input = try Self.input(dir, 20)
        let template = try dir.write("t.md", "{{text}}")
        var identity = try await Self.tls()
        identity.applicationProtocols = alpn
        let ca = try dir.write("ca.pem", identity.caPEM)
        try await SimulatorServer.withRunning(E2E.instant, tls: identity) { sim in
            let r = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", sim.baseURL, "-o", dir.path + "/out.jsonl"],
                                                environment: Self.env.merging(["SSL_CERT_FILE": ca]) { $1 })
            #expect(r.status == 0, "\(r.stderr.suffix(2000))")
            let lines = try dir.read("out.jsonl").split(separator: "\n")
            #expect(lines.count == 20)
            #expect(sim.simulator.stats().totals.requests == 20)
            let t = sim.simulator.transportStats()
            #expect(t.connectionsByProtocol.keys.sorted() == [alpn[0]], "\(t)")
        }
    }

    /// A server whose certificate nothing vouches for: the run stops at once with a message
    /// that says so (no retrying for minutes, no answer written, nothing sent in cleartext).
    @Test func anUntrustedCertificateStopsTheRunClearly() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let input = try Self.input(dir, 5)
        let template = try dir.write("t.md", "{{text}}")
        try await SimulatorServer.withRunning(E2E.instant, tls: try await Self.tls()) { sim in
            let r = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", sim.baseURL, "-o", dir.path + "/out.csv"],
                                                environment: Self.env)
            #expect(r.status == 1, "\(r.stderr.suffix(2000))")
            #expect(r.stderr.contains("certificate"), "\(r.stderr.suffix(2000))")
            #expect(r.stderr.contains("--ca-file"), "\(r.stderr.suffix(2000))")
            #expect(sim.simulator.stats().totals.requests == 0)
            // The server learns of the refused handshake when the client's alert arrives.
            for _ in 0..<50 where sim.simulator.transportStats().failedHandshakes == 0 { try await Task.sleep(for: .milliseconds(100)) }
            #expect(sim.simulator.transportStats().failedHandshakes >= 1)
            #expect(!FileManager.default.fileExists(atPath: dir.path + "/out.csv"))
        }
    }

    /// A `--ca-file` that holds no certificate is a usage error naming the file, before any request.
    @Test func aCAFileWithoutACertificateIsAUsageError() async throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let input = try Self.input(dir, 2)
        let template = try dir.write("t.md", "{{text}}")
        let notPEM = try dir.write("not-a-ca.pem", "hello\n")
        for path in [notPEM, dir.path + "/missing.pem"] {
            let r = try await SluiceProcess.run(["run", input, "-t", template, "--endpoint", "https://127.0.0.1:9", "--ca-file", path],
                                                environment: Self.env)
            #expect(r.status == 64, "\(r.stderr)")
            #expect(r.stderr.contains(path), "\(r.stderr)")
        }
    }
}
