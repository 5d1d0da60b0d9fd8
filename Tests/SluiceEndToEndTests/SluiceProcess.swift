import Foundation
import SluiceJSON
import SluiceSimulator
import SluiceSpawn
import SluiceTestSupport

/// The built `sluice` binary run as a user would: arguments, environment, exit code, output.
/// Waiting blocks no cooperative thread (`ChildProcess`), so the in-process simulator keeps its cooperative
/// threads and no core is spent spinning.
final class SluiceProcess: @unchecked Sendable {
    struct Result: Sendable {
        var status: Int32
        var stdout: String
        /// Standard output as bytes (gzip on stdout is not text).
        var stdoutBytes = Data()
        var stderr: String
    }

    static let binary: String = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("sluice").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/sluice").path
    }()

    let process: ChildProcess
    /// Output goes to files: no pipe can fill up and stall the child while nobody reads.
    private let outPath = NSTemporaryDirectory() + "sluice-out-\(UUID().uuidString)"
    private let errPath = NSTemporaryDirectory() + "sluice-err-\(UUID().uuidString)"

    /// `measureMemoryTo`: run under `/usr/bin/time`, which writes the peak RSS (KB) to that file.
    init(_ arguments: [String], environment: [String: String] = [:], directory: String? = nil, stdinFile: String? = nil,
         measureMemoryTo: String? = nil, shellLimits: String? = nil) throws {
        let executable: String
        let argv: [String]
        if let shellLimits {
            // e.g. "ulimit -f 100": applied by a shell that then becomes sluice.
            executable = "/bin/sh"
            argv = ["-c", "\(shellLimits); exec \"$0\" \"$@\"", Self.binary] + arguments
        } else if let measureMemoryTo {
            executable = "/usr/bin/time"
            argv = ["-o", measureMemoryTo, "-f", "%M", Self.binary] + arguments
        } else {
            executable = Self.binary
            argv = arguments
        }
        var env = ProcessInfo.processInfo.environment
        env["GEMINI_API_KEY"] = nil
        env["GOOGLE_API_KEY"] = nil
        env["GOOGLE_GEMINI_BASE_URL"] = nil
        for (k, v) in environment { env[k] = v }
        process = try ChildProcess(executable: executable, arguments: argv, environment: env, directory: directory,
                                   stdin: stdinFile.map { .file($0) } ?? .null, stdout: .file(outPath), stderr: .file(errPath))
    }

    var pid: Int32 { process.pid }

    func kill() { process.signal(SIGKILL) }

    func wait() async -> Result {
        let status = await process.wait()
        let stdoutBytes = (try? Data(contentsOf: URL(fileURLWithPath: outPath))) ?? Data()
        let stdout = String(decoding: stdoutBytes, as: UTF8.self)
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
        return Result(status: status, stdout: stdout, stdoutBytes: stdoutBytes, stderr: stderr)
    }

    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        try await SluiceProcess(arguments, environment: environment).wait()
    }
}

/// A scratch directory removed at the end of the test.
struct Scratch {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "sluice-e2e-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func read(_ name: String) -> String { (try? String(contentsOfFile: path + "/" + name, encoding: .utf8)) ?? "" }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// What most end-to-end tests share: the simulator's accepted key, and a simulator without latency.
enum E2E {
    static let env = ["GEMINI_API_KEY": "sim-test-key"]

    static var instant: SimulatorConfiguration {
        var c = SimulatorConfiguration()
        c.timeScale = 0
        c.captureBodies = false
        return c
    }
}

/// `sluice simulate` in a process of its own, for tests whose load would starve an in-process
/// simulator (it shares the test process's two cooperative threads and event loops with every
/// suite running beside it). Stopped by `stop()`.
final class SimulatorProcess: @unchecked Sendable {
    let process: ChildProcess
    /// What the banner names: `http(s)://127.0.0.1:PORT`.
    let baseURL: String
    /// With `--tls --ca-out`: the certificate authority to trust.
    let caFile: String?
    private let bannerPath = NSTemporaryDirectory() + "sluice-sim-\(UUID().uuidString)"

    init(_ arguments: [String], caFile: String? = nil) throws {
        process = try ChildProcess(executable: SluiceProcess.binary,
                                   arguments: ["simulate", "--port", "0"] + arguments + (caFile.map { ["--tls", "--ca-out", $0] } ?? []),
                                   stdout: .file(bannerPath))
        // The banner is the first line of its output; a loaded machine may take seconds to get there.
        var line = ""
        let deadline = ContinuousClock.now + .seconds(60)
        while process.isRunning, ContinuousClock.now < deadline {
            let text = (try? String(contentsOfFile: bannerPath, encoding: .utf8)) ?? ""
            if let end = text.firstIndex(of: "\n") { line = String(text[..<end]); break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        try? FileManager.default.removeItem(atPath: bannerPath)
        guard let url = line.split(separator: " ").last.map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }), url.hasPrefix("http") else {
            process.signal(SIGTERM)
            throw SimulatorProcessError(message: "sluice simulate printed no address: \(line)")
        }
        baseURL = url
        self.caFile = caFile
    }

    struct SimulatorProcessError: Error { let message: String }

    /// A test that throws before `stop()` still ends the simulator.
    deinit { if process.isRunning { process.signal(SIGTERM) } }

    /// `GET path` as JSON, with curl (trusting `caFile` when there is one).
    func get(_ path: String) async throws -> JSONValue {
        let r = try await Subprocess.run(["curl", "-sS"] + (caFile.map { ["--cacert", $0] } ?? []) + [baseURL + path])
        return try JSONParser.parse(Data(r.stdout.utf8))
    }

    func stop() async {
        process.signal(SIGTERM)
        _ = await process.wait()
    }
}
