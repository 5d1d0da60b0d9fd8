import Foundation
import SluiceSpawn

/// A certificate authority and a server certificate made for one simulator run, so tests speak
/// TLS (and HTTP/2 by ALPN) to the simulator as `sluice` does to the real endpoint — without a
/// key kept on disk or a trust store to edit: the client is handed `caPEM` (`--ca-file`,
/// `SSL_CERT_FILE`).
///
/// Made by openssl(1) (on every machine that builds Sluice) rather than by swift-crypto and
/// swift-certificates, which would compile a second BoringSSL into every build for a test aid.
public struct SimulatorTLS: Sendable {
    /// The authority's certificate: what a client must trust.
    public let caPEM: String
    /// The server's certificate (for `127.0.0.1`, `::1` and `localhost`) and its private key.
    public let certificatePEM: String
    public let privateKeyPEM: String

    /// Largest number of concurrent HTTP/2 streams per connection the server advertises.
    /// 100 is the least RFC 9113 recommends and what common front ends advertise (Apache,
    /// Kestrel, h2o; nginx 128): a client that opens one connection and waits for free streams
    /// is held to it.
    public var maxConcurrentStreams = 100

    /// Protocols offered by ALPN, most preferred first: HTTP/2 and HTTP/1.1 as Google's front
    /// ends offer them; `["http/1.1"]` simulates an HTTPS server without HTTP/2.
    public var applicationProtocols = ["h2", "http/1.1"]

    public init(caPEM: String, certificatePEM: String, privateKeyPEM: String) {
        self.caPEM = caPEM
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }

    public struct GenerationError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Makes a fresh authority and server identity (P-256), valid from an hour ago for `days`
    /// days, in a scratch directory that is removed before returning.
    public static func generate(days: Int = 7, openssl: String = "openssl") async throws -> SimulatorTLS {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        try Data("""
            [server]
            basicConstraints = critical, CA:FALSE
            keyUsage = critical, digitalSignature
            extendedKeyUsage = serverAuth
            subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
            authorityKeyIdentifier = keyid
            subjectKeyIdentifier = hash

            """.utf8).write(to: URL(fileURLWithPath: path("ext.cnf")))
        let ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        let tag = UUID().uuidString.prefix(8)
        try await run(openssl, ["req", "-x509"] + ecKey + ["-keyout", path("ca.key"), "-out", path("ca.pem"),
                "-days", String(days), "-subj", "/O=Sluice simulator/CN=Sluice simulator CA \(tag)",
                "-config", "/dev/null", "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        try await run(openssl, ["req", "-new"] + ecKey + ["-keyout", path("server.key"), "-out", path("server.csr"),
                "-subj", "/CN=localhost", "-config", "/dev/null"])
        try await run(openssl, ["x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
                "-CAcreateserial", "-days", String(days), "-out", path("server.pem"),
                "-extfile", path("ext.cnf"), "-extensions", "server"])
        func read(_ name: String) throws -> String { try String(contentsOfFile: path(name), encoding: .utf8) }
        return SimulatorTLS(caPEM: try read("ca.pem"), certificatePEM: try read("server.pem"), privateKeyPEM: try read("server.key"))
    }

    /// Writes the authority's certificate to `path` (what `sluice run --ca-file` reads).
    public func writeCA(to path: String) throws {
        try Data(caPEM.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    static func run(_ openssl: String, _ arguments: [String]) async throws {
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-openssl-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: errors) }
        let child: ChildProcess
        do {
            child = try ChildProcess(executable: "/usr/bin/env", arguments: [openssl] + arguments, stderr: .file(errors))
        } catch {
            throw GenerationError(description: "cannot run \(openssl) to make the simulator's TLS certificate: \(error)")
        }
        let status = await child.wait()
        guard status == 0 else {
            let text = ((try? String(contentsOfFile: errors, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            let missing = status == 127 ? " (is openssl installed? apt-get install openssl)" : ""
            throw GenerationError(description: "\(openssl) \(arguments.first ?? "") failed with status \(status)\(missing): \(text)")
        }
    }
}
