import Foundation
import SluiceSpawn

/// Runs a command to completion. Waiting blocks no cooperative thread (`ChildProcess`), so it
/// never takes one of the few threads an in-process simulator needs (there are as many as
/// cores). Output goes to files, so no pipe can fill up and stall the child while nobody reads.
public enum Subprocess {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// `arguments[0]` is looked up on PATH.
    public static func run(_ arguments: [String], environment: [String: String]? = nil) async throws -> Result {
        let out = NSTemporaryDirectory() + "sluice-sub-out-\(UUID().uuidString)"
        let err = NSTemporaryDirectory() + "sluice-sub-err-\(UUID().uuidString)"
        defer {
            try? FileManager.default.removeItem(atPath: out)
            try? FileManager.default.removeItem(atPath: err)
        }
        let child = try ChildProcess(executable: "/usr/bin/env", arguments: arguments, environment: environment,
                                     stdout: .file(out), stderr: .file(err))
        let status = await child.wait()
        let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        return Result(status: status, stdout: read(out), stderr: read(err))
    }
}
